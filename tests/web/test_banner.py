"""./run's banner tells a newcomer where the admin page is and how to sign in."""

from __future__ import annotations


def test_the_banner_names_the_admin_page_docs_and_demo_credentials(capsys):
    import embedded

    embedded.banner()
    out = capsys.readouterr().out
    assert f"http://127.0.0.1:{embedded.ALPINE_PORT}/admin/" in out
    assert f"http://127.0.0.1:{embedded.ALPINE_PORT}/docs" in out
    assert f"{embedded.DEMO_ADMIN_EMAIL} / {embedded.DEMO_ADMIN_PASSWORD}" in out
    assert "./run flask users --help" in out
