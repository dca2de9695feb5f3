"""The loaded model: its input checks, loading from the registry or a folder, export, batch prediction."""
