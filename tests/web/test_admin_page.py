"""The admin page in a real headless Chromium, against a live Alpine on PostgreSQL.

Screenshots of each step are kept in the test's tmp dir (pytest prints it with -v
on failure; ``--basetemp`` pins it).
"""

from __future__ import annotations

import pytest

from app.metrics.rollup import run_rollup
from tests.conftest import DEFAULT_PASSWORD, ServerThread
from tests.web.browser import Browser

pytestmark = pytest.mark.slow
WAIT = 30  # seconds; generous, the box is shared
XSS = '<img src=x onerror="document.title=1">'


@pytest.fixture
def config_overrides():
    # 70 s access tokens: the page refreshes a minute before expiry, so within ~10 s here.
    return {"JWT_ACCESS_TOKEN_SECONDS": 70}


@pytest.fixture
def live(app):
    server = ServerThread(app).start()
    yield server
    server.stop()


@pytest.fixture
def browser(tmp_path):
    b = Browser(tmp_path)
    yield b
    b.quit()


def sign_in(browser, url, email, password):
    from selenium.webdriver.common.by import By

    d = browser.driver
    d.get(url + "/admin/")
    d.find_element(By.ID, "email").send_keys(email)
    d.find_element(By.ID, "password").send_keys(password)
    d.find_element(By.ID, "signin-button").click()


def tier_counts(driver) -> dict[str, str]:
    # One script call reads the table at once: the page may be rebuilding it (Refresh).
    return driver.execute_script(
        "return Object.fromEntries([...document.querySelectorAll('#tiers tbody tr')]"
        ".filter((r) => r.cells.length === 2).map((r) => [r.cells[0].textContent, r.cells[1].textContent]))"
    )


def test_admin_signs_in_sees_figures_and_charts_and_changes_a_tier(app, client, auth, live, browser):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.select import Select
    from selenium.webdriver.support.ui import WebDriverWait

    admin = auth.admin(email="admin@example.com")
    alice_id = auth.create_user("alice@example.com", tier="starter", full_name="Alice")
    # Hostile text in a user's name is shown as text, never run or fetched.
    auth.create_user("mallory@example.com", full_name=XSS)
    plain = auth.user(email="plain@example.com")
    # Traffic for the charts: 6 requests, one of them a 404, rolled up into SQL.
    for _ in range(5):
        client.get("/api/users/me", headers=plain.headers)
    client.get("/api/nothing-here")
    with app.app_context():
        run_rollup(include_open=True)

    d = browser.driver
    wait = WebDriverWait(d, WAIT)

    # A non-admin gets a clear refusal, and no dashboard.
    sign_in(browser, live.url, "plain@example.com", DEFAULT_PASSWORD)
    wait.until(ec.text_to_be_present_in_element((By.ID, "signin-error"), "not an admin"))
    assert not d.find_element(By.ID, "dashboard").is_displayed()
    browser.screenshot("01-not-an-admin")

    sign_in(browser, live.url, admin.email, DEFAULT_PASSWORD)
    wait.until(ec.visibility_of_element_located((By.ID, "dashboard")))
    total = wait.until(ec.presence_of_element_located((By.CSS_SELECTOR, 'dd[data-key="total_users"]')))
    labels = [e.text for e in d.find_elements(By.CSS_SELECTOR, "#figures dt")]
    for label in ("Total users", "Active users", "API requests today", "Error rate"):
        assert label in labels
    assert total.text == "4"
    assert d.find_element(By.CSS_SELECTOR, 'dd[data-key="api_requests_today"]').text == "6"
    assert d.find_element(By.ID, "whoami").text == admin.email

    # Both charts drawn, with the rolled-up requests in them.
    for chart, buckets in (("chart-hour", (24, 25)), ("chart-day", (30, 31))):
        wait.until(lambda drv, c=chart: drv.find_element(By.ID, c).get_attribute("data-drawn") == "true")
        line = d.find_element(By.CSS_SELECTOR, f"#{chart} path.line.requests")
        assert int(line.get_attribute("data-points")) in buckets
        assert int(line.get_attribute("data-total")) == 6
        assert line.get_attribute("d").count("L") == int(line.get_attribute("data-points")) - 1
        assert line.size["width"] > 300  # really rendered, not an empty box
    assert tier_counts(d)["starter"] == "4"
    names = [td.text for td in d.find_elements(By.CSS_SELECTOR, "#users tbody td:nth-child(3)")]
    assert XSS in names and d.title == "Alpine admin"
    browser.screenshot("02-dashboard")

    # Change alice's tier, then deactivate her; the API agrees.
    row = f'#users tr[data-user-id="{alice_id}"]'
    Select(
        wait.until(ec.presence_of_element_located((By.CSS_SELECTOR, row + " select.tier")))
    ).select_by_value("pro")
    wait.until(ec.text_to_be_present_in_element((By.ID, "status"), "alice@example.com: tier pro"))
    assert client.get(f"/api/admin/users/{alice_id}", headers=admin.headers).get_json()["tier"] == "pro"
    d.find_element(By.CSS_SELECTOR, row + " button.toggle-active").click()
    wait.until(ec.text_to_be_present_in_element((By.ID, "status"), "alice@example.com: deactivated"))
    assert client.get(f"/api/admin/users/{alice_id}", headers=admin.headers).get_json()["is_active"] is False
    # Users by tier follows after the next rollup (which drops the analytics cache) + Refresh.
    with app.app_context():
        run_rollup(include_open=True)
    d.find_element(By.ID, "reload").click()
    wait.until(lambda drv: tier_counts(drv).get("pro") == "1")
    assert tier_counts(d)["starter"] == "3"
    # The admin cannot deactivate themself from the page.
    own = d.find_element(By.CSS_SELECTOR, f'#users tr[data-user-id="{admin.id}"] button.toggle-active')
    assert not own.is_enabled()
    # Search narrows the list.
    d.find_element(By.ID, "user-q").send_keys("alice")
    d.find_element(By.CSS_SELECTOR, "#user-search button").click()
    wait.until(lambda drv: len(drv.find_elements(By.CSS_SELECTOR, "#users tbody tr[data-user-id]")) == 1)
    assert d.title == "Alpine admin"
    browser.screenshot("03-user-changed")

    # The access token is refreshed before it expires (70 s tokens: ~10 s in).
    def refreshed(_drv):
        browser.collect()
        return any(r["url"].endswith("/api/auth/refresh") for r in browser.requests)

    WebDriverWait(d, WAIT).until(refreshed)

    d.find_element(By.ID, "signout").click()
    wait.until(ec.visibility_of_element_located((By.ID, "signin")))
    assert not d.find_element(By.ID, "dashboard").is_displayed()
    browser.collect()
    assert any(r["url"].endswith("/api/auth/logout") and r["method"] == "POST" for r in browser.requests)
    browser.screenshot("04-signed-out")

    # No error in the console (CSP violations, failed loads, script errors) ...
    assert browser.errors() == []
    d.execute_script("console.error('probe: the console log reaches the test')")
    assert [e for e in browser.errors() if "probe" in e["message"]]  # so [] above meant something
    # ... and nothing left the origin, by the network log and by resource timing.
    urls = [r["url"] for r in browser.requests]
    assert urls and all(u.startswith(live.url + "/") or u.startswith("data:") for u in urls), urls
    timing = d.execute_script("return performance.getEntriesByType('resource').map(e => e.name)")
    assert timing and all(u.startswith(live.url + "/") for u in timing), timing


def test_docs_render_in_the_browser_with_local_assets_only(live, browser):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    browser.driver.get(live.url + "/docs")
    WebDriverWait(browser.driver, WAIT).until(
        ec.presence_of_element_located((By.CSS_SELECTOR, ".swagger-ui .opblock"))
    )
    assert "Alpine API" in browser.driver.find_element(By.CSS_SELECTOR, ".swagger-ui .info").text
    browser.screenshot("docs")
    assert browser.errors() == []
    urls = [r["url"] for r in browser.requests]
    assert all(u.startswith(live.url + "/") or u.startswith("data:") for u in urls), urls


def test_a_wrong_password_is_refused_with_the_apis_message(auth, live, browser):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    auth.admin(email="admin@example.com")
    sign_in(browser, live.url, "admin@example.com", "not the password")
    WebDriverWait(browser.driver, WAIT).until(
        ec.text_to_be_present_in_element((By.ID, "signin-error"), "The email or password is incorrect.")
    )
    assert not browser.driver.find_element(By.ID, "dashboard").is_displayed()
    browser.screenshot("wrong-password")
    # The only console entry is the browser's note of the 401 itself.
    errors = browser.errors()
    assert len(errors) == 1 and "401" in errors[0]["message"], errors
