"""Small helpers shared by the API-key tests."""

from __future__ import annotations


def err(resp):
    return resp.get_json()["error"]["code"]


def create_key(client, user, name="bot", scopes=None) -> dict:
    body = {"name": name}
    if scopes is not None:
        body["scopes"] = scopes
    resp = client.post("/api/keys", json=body, headers=user.headers)
    assert resp.status_code == 201, resp.get_json()
    return resp.get_json()
