"""Tests of {{ cookiecutter.package_name }}.tracking."""
