"""MLflow plugins of this project, declared as entry points in pyproject.toml (standard library only).

MLflow imports these classes while `import mlflow` runs: a module here that imports anything heavy, or
anything that imports mlflow, would make MLflow drop the plugin with only a warning.
"""
