"""Tests of {{ cookiecutter.package_name }}.pipeline."""
