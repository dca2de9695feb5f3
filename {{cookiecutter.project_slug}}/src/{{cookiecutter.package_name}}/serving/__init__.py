"""The HTTP model server that `make deploy` runs: MLflow-compatible /invocations, typed /predict, /health."""
