"""Accounts: registration, login and tokens (``auth_views``), the current user
(``user_views``, ``user_cache``, ``request_auth``), passwords, login throttling,
tiers, every write to a user (``users``), and the ``users`` CLI group."""
