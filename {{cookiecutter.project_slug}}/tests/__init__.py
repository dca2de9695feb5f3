"""Tests of {{ cookiecutter.package_name }}, mirroring src/."""
