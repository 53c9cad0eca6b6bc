"""What every domain builds on: the SQL base and session handling, Redis with
its fallbacks, the circuit breaker, Celery's app binding, the error handlers
and the health endpoints."""
