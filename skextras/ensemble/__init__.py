"""Tree ensembles built on the shared histogram engine."""
