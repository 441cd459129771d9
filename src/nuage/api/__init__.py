"""The REST API under ``/api/v1`` (API-1..4): FastAPI over the use cases of ``nuage.services``."""
