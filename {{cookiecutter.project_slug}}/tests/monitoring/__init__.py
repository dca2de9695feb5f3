"""Tests of {{ cookiecutter.package_name }}.monitoring."""
