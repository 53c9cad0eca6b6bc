"""Business logic shared by the API, the CLI and the Celery tasks."""
