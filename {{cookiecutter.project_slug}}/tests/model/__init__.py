"""Tests of {{ cookiecutter.package_name }}.model."""
