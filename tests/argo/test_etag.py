"""latest sends an ETag and answers If-None-Match with 304 while nothing changed."""

from __future__ import annotations

from argo_app.generator.engine import generate

URL = "/api/signals/latest"


def test_unchanged_store_is_304_without_a_body_and_a_new_signal_changes_the_tag(argo_app_, argo_client):
    store = argo_app_.extensions["argo_store"]
    first = argo_client.get(URL)
    assert first.status_code == 200 and first.get_json() == []
    empty_tag = first.headers["ETag"]
    assert empty_tag.startswith('"') and empty_tag.endswith('"')

    signals = generate(20, 3)
    store.insert_many(signals[:10])
    resp = argo_client.get(URL, headers={"If-None-Match": empty_tag})
    assert resp.status_code == 200 and len(resp.get_json()) == 10
    tag = resp.headers["ETag"]
    assert tag != empty_tag

    again = argo_client.get(URL, headers={"If-None-Match": tag})
    assert again.status_code == 304
    assert again.data == b"" and again.headers["ETag"] == tag
    weak = argo_client.get(URL, headers={"If-None-Match": f'W/{tag}, "other"'})
    assert weak.status_code == 304  # If-None-Match compares weakly (RFC 9110)

    store.insert_many(signals[10:11])
    changed = argo_client.get(URL, headers={"If-None-Match": tag})
    assert changed.status_code == 200 and changed.headers["ETag"] != tag
    assert changed.get_json()[0]["sha256"] in {s["sha256"] for s in signals[10:11]} | {
        s["sha256"] for s in signals[:10]
    }


def test_a_duplicate_insert_keeps_the_tag(argo_app_, argo_client):
    store = argo_app_.extensions["argo_store"]
    signals = generate(5, 4)
    store.insert_many(signals)
    tag = argo_client.get(URL).headers["ETag"]
    assert store.insert_many(signals) == 0
    assert argo_client.get(URL, headers={"If-None-Match": tag}).status_code == 304


def test_bad_parameters_are_still_422_with_a_matching_tag(argo_app_, argo_client):
    tag = argo_client.get(URL).headers["ETag"]
    resp = argo_client.get(URL, query_string={"limit": "0"}, headers={"If-None-Match": tag})
    assert resp.status_code == 422


def test_another_store_with_as_many_rows_has_another_tag(tmp_path):
    from argo_app import create_app

    tags = []
    for seed in (1, 2):
        app = create_app({"ARGO_DB_PATH": str(tmp_path / f"s{seed}.db"), "TESTING": True})
        app.extensions["argo_store"].insert_many(generate(5, seed))
        tags.append(app.test_client().get(URL).headers["ETag"])
        app.extensions["argo_store"].close_all()
    assert tags[0] != tags[1]


def test_a_row_altered_in_place_changes_the_tag(argo_app_, argo_client):
    import json

    store = argo_app_.extensions["argo_store"]
    signals = generate(3, 5)
    store.insert_many(signals)
    tag = argo_client.get(URL).headers["ETag"]
    victim = signals[0]
    store.connection().execute(
        "UPDATE signals SET payload = ? WHERE sha256 = ?",
        (json.dumps({**victim, "stop_loss": victim["stop_loss"] - 1}), victim["sha256"]),
    )
    assert argo_client.get(URL, headers={"If-None-Match": tag}).status_code == 200
