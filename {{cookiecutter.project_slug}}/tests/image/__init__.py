"""Tests of {{ cookiecutter.package_name }}.image."""
