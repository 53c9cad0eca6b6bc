"""Headless Chromium (Debian's chromium + chromium-driver) driven by selenium, for the page tests.

No network is involved in starting it: the driver and browser are the system's
own binaries (never a download by selenium's manager), the profile is a fresh
directory under the test's tmp dir, and the browser's own background traffic
(updates, sync, QUIC probes) is switched off so any request the performance log
shows came from the page.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"
INTERNAL = ("chrome://", "chrome-untrusted://", "about:")
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--window-size=1280,2400",
)


class Browser:
    """A Chrome session that keeps every browser-console and network event it saw."""

    def __init__(self, tmp_path: Path):
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service

        if not (Path(CHROMIUM).exists() and Path(CHROMEDRIVER).exists()):
            pytest.fail("chromium and chromium-driver are needed (apt-get install chromium chromium-driver)")
        options = webdriver.ChromeOptions()
        options.binary_location = CHROMIUM
        for flag in FLAGS:
            options.add_argument(flag)
        options.add_argument(f"--user-data-dir={tmp_path / 'chromium-profile'}")
        options.set_capability("goog:loggingPrefs", {"browser": "ALL", "performance": "ALL"})
        self.shots = tmp_path / "screenshots"
        self.shots.mkdir(exist_ok=True)
        self.driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)
        self.driver.set_page_load_timeout(60)
        self.console: list[dict] = []
        self.requests: list[dict] = []

    def collect(self) -> None:
        """Move the browser's logs (each read empties them) into ``console`` / ``requests``."""
        self.console += self.driver.get_log("browser")
        for entry in self.driver.get_log("performance"):
            message = json.loads(entry["message"])["message"]
            if message["method"] == "Network.requestWillBeSent":
                request = message["params"]["request"]
                # The browser's own start page (chrome://new-tab-page...) is built in, not fetched.
                if not request["url"].startswith(INTERNAL):
                    self.requests.append({"url": request["url"], "method": request["method"]})

    def errors(self) -> list[dict]:
        self.collect()
        return [e for e in self.console if e["level"] in ("SEVERE", "ERROR")]

    def screenshot(self, name: str) -> Path:
        path = self.shots / f"{name}.png"
        self.driver.save_screenshot(str(path))
        return path

    def quit(self) -> None:
        self.driver.quit()
