"""A subscriber's own usage: GET /api/users/me/usage (quota, per-day counts, per-key counts)."""
