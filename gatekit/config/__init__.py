"""validation.yaml: models, loading with positions, and errors for people."""
