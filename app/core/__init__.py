"""What every domain builds on: the SQL base and session handling, Redis with
its fallbacks, the one circuit breaker (Argo's and Redis'), Celery's app
binding, the error handlers (domain errors included) and the health endpoints."""
