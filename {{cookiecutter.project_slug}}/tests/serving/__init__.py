"""Tests of {{ cookiecutter.package_name }}.serving."""
