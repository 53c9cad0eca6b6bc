"""Fuzzing both services from their own /openapi.json with schemathesis.

For every operation, a bounded, reproducible number of generated requests
(hypothesis ``derandomize=True``): valid ones (POSITIVE) and schema-violating
ones (NEGATIVE), against Alpine with a real logged-in user and a real admin
(fresh tokens every case, so a fuzzed logout or password change does not blind
the rest of the run) and a real Argo holding a few hundred signals, and against
Argo itself. Every response must be: a documented status, JSON (never HTML),
the error envelope for every error, never a 500, and a 503 only of the
documented kinds.
"""

from __future__ import annotations

from collections import Counter

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from argo_app.generator.engine import generate
from tests.hardening.helpers import SNAKE

EXAMPLES_PER_MODE = 25  # per operation and mode: 50 requests per operation
SETTINGS = settings(
    max_examples=EXAMPLES_PER_MODE,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=list(HealthCheck),
    print_blob=False,
)
DOCUMENTED_503 = {"upstream_unavailable", "database_unavailable", "service_unavailable", "not_ready"}
CASES_RUN: dict[str, int] = {}
STATUSES: dict[str, Counter] = {}


@pytest.fixture
def seeded_argo(argo_server):
    argo_server.app.extensions["argo_store"].insert_many(generate(300, 21))
    return argo_server


@pytest.fixture
def config_overrides(seeded_argo):
    return {"ARGO_URL": seeded_argo.url}


def check_response(resp, label: str) -> None:
    """The API's rules for any response of either service."""
    status = resp.status_code
    ctype = (resp.headers.get("content-type") or [""])[0]  # lower-case keys, list values
    assert status < 500 or status == 503, (label, status, resp.text[:300])
    assert "text/html" not in ctype, (label, status, resp.text[:300])
    if status >= 400:
        assert ctype.startswith("application/json"), (label, status, ctype)
        body = resp.json()
        assert set(body) == {"error"}, (label, body)
        err = body["error"]
        assert SNAKE.match(err["code"]) and isinstance(err["message"], str), (label, body)
        assert isinstance(err.get("details", {}), dict), (label, body)
        if status == 503:
            assert err["code"] in DOCUMENTED_503, (label, body)


def operation_test(operation, mode, path_parameters, count: list[int], headers_for, label: str):
    """The hypothesis test of one operation in one mode; ``count[0]`` counts the requests it sends.

    Built by a function of its own so the test is bound to this operation and
    mode, not to whatever a caller's loop variables hold later."""

    @SETTINGS
    @given(
        case=operation.as_strategy(generation_mode=mode, path_parameters=path_parameters),
        data=st.data(),
    )
    def run(case, data):
        headers = headers_for(operation.path)
        resp = case.call(headers=headers)
        count[0] += 1
        STATUSES.setdefault(f"{label} {operation.method.upper()} {operation.path}", Counter())[
            resp.status_code
        ] += 1
        check_response(resp, f"{label} {operation.method.upper()} {operation.path} [{mode}]")
        case.validate_response(
            resp,
            checks=[
                not_a_server_error,
                status_code_conformance,
                content_type_conformance,
                response_schema_conformance,
            ],
            headers=headers,
        )

    return run


def fuzz(schema, headers_for, label: str, known: dict | None = None) -> int:
    """Run every operation of ``schema``; returns the number of requests sent.

    ``known`` maps a path parameter to a real value (a user id, a stored sha256):
    operations with that parameter get a third, POSITIVE run aimed at it, since
    random ids almost never exist."""
    total = 0
    for result in schema.get_all_operations():
        operation = result.ok()
        runs = [(GenerationMode.POSITIVE, None), (GenerationMode.NEGATIVE, None)]
        fixed = {k: v for k, v in (known or {}).items() if f"{{{k}}}" in operation.path}
        if fixed:
            runs.append((GenerationMode.POSITIVE, fixed))
        for mode, path_parameters in runs:
            count = [0]
            run = operation_test(operation, mode, path_parameters, count, headers_for, label)
            try:
                run()
            except Unsatisfiable:
                # No way to break the schema of an operation without parameters
                # or body (GET /health in NEGATIVE mode): nothing to send.
                assert mode == GenerationMode.NEGATIVE and count[0] == 0, operation.path
            total += count[0]
            CASES_RUN[
                f"{label} {operation.method.upper()} {operation.path} {mode}"
                f"{' ' + str(path_parameters) if path_parameters else ''}"
            ] = count[0]
    return total


def test_fuzz_alpine(app, auth, remember_secret):
    user = auth.user(email="fuzz-user@example.com", tier="pro")
    admin = auth.admin(email="fuzz-admin@example.com")
    target = auth.user(email="fuzz-target@example.com")  # what the admin PATCHes

    def headers_for(path: str) -> dict:
        who = admin if path.startswith("/api/admin") else user
        tokens = auth.tokens_for(who.id)
        remember_secret(tokens["access_token"])
        remember_secret(tokens["refresh_token"])
        token = tokens["refresh_token"] if path == "/api/auth/refresh" else tokens["access_token"]
        return {"Authorization": f"Bearer {token}"}

    schema = schemathesis.openapi.from_wsgi("/openapi.json", app)
    n = fuzz(schema, headers_for, "alpine", known={"user_id": target.id})
    print(f"\nalpine: {n} fuzz cases")
    assert n >= 10 * len(list(schema.get_all_operations()))
    # The credentials worked: valid requests got through to the handlers.
    for op in (
        "GET /api/signals/latest",
        "GET /api/admin/users",
        "GET /api/users/me",
        "GET /api/admin/metrics/requests",
        "PATCH /api/users/me",
    ):
        assert STATUSES[f"alpine {op}"][200] > 0, STATUSES[f"alpine {op}"]


def test_fuzz_argo(seeded_argo):
    schema = schemathesis.openapi.from_wsgi("/openapi.json", seeded_argo.app)
    sha = (
        seeded_argo.app.extensions["argo_store"]
        .connection()
        .execute("SELECT sha256 FROM signals LIMIT 1")
        .fetchone()[0]
    )
    n = fuzz(schema, lambda path: {}, "argo", known={"sha256": sha})
    print(f"\nargo: {n} fuzz cases")
    for key, value in STATUSES.items():
        print(f"  {key}: {dict(sorted(value.items()))}")
    assert n >= 10 * len(list(schema.get_all_operations()))
