"""Tests of {{ cookiecutter.package_name }}.deploy."""
