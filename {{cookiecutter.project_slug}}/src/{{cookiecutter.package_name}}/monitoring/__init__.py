"""Production monitoring of the served model."""
