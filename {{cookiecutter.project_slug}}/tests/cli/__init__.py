"""Tests of {{ cookiecutter.package_name }}.cli."""
