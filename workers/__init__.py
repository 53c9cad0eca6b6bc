"""Celery worker fleet: builds on app/ (never the other way)."""
