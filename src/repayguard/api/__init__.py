"""The REST API (FastAPI): thin endpoints over the capabilities' services."""
