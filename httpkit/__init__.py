"""The web toolkit Alpine and Argo share: the JSON error envelope and its
handlers (``errors``), the memoising argument parser (``parsing``), security
headers and CORS (``security``) and the signal schemas (``schemas``).

It imports neither app: both build on it, neither on the other.
"""
