"""Tests of {{ cookiecutter.package_name }}.mlflow_plugin."""
