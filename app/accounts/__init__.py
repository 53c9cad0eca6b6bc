"""Accounts: registration, login and tokens (``auth_views``), the current user
(``user_views``, ``user_cache``, ``request_auth``), passwords, login throttling,
tiers, the domain's rules and errors (``rules``), every write to a user
(``users``; the audited admin changes in ``admin_changes``), account mail
(``email_*``, ``mail_outbox``), and the ``users`` CLI group."""
