"""Tests of {{ cookiecutter.package_name }}.reproduce."""
