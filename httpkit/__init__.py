"""The web toolkit Alpine and Argo share: the JSON error envelope
(``envelope``) and its handlers (``errors``), the strict and the memoising
argument parsers (``strict_parser``, ``parsing``), the closed set of methods
(``methods``), security headers and CORS (``security``), the signal schemas
(``schemas``) and the API docs' local assets (``docs``).

It imports neither app: both build on it, neither on the other.
"""
