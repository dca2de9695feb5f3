"""Tests of {{ cookiecutter.package_name }}.tuning."""
