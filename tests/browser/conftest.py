"""Playwright against the machine's Chromium (no browser download is possible here).

Browser tests are skipped when Chromium is not installed, unless FINHUB_REQUIRE_BROWSER=1
(set by .ci/run, which installs it), which turns that into a failure.
"""

import os
import shutil
from pathlib import Path

import pytest

# The sync Playwright API keeps an event loop running in the test thread; the live
# server and the ORM calls made by the test itself are still plain synchronous code.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM = os.environ.get("FINHUB_CHROMIUM", "/usr/bin/chromium")
# Not test-results/: pytest-playwright empties that folder at the start of every session.
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"


def pytest_collection_modifyitems(config, items):
    if Path(CHROMIUM).exists() or shutil.which("chromium"):
        return
    if os.environ.get("FINHUB_REQUIRE_BROWSER") == "1":
        raise pytest.UsageError(f"FINHUB_REQUIRE_BROWSER=1 but no Chromium at {CHROMIUM}")
    skip = pytest.mark.skip(reason=f"no Chromium at {CHROMIUM} (apt-get install chromium)")
    for item in items:
        if item.get_closest_marker("browser"):
            item.add_marker(skip)


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    return {
        **browser_type_launch_args,
        "executable_path": CHROMIUM if Path(CHROMIUM).exists() else shutil.which("chromium"),
        "args": [
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
        ],
    }


@pytest.fixture
def screenshot(page):
    """screenshot("name") saves the page under test-artifacts/screenshots/ as an artifact."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)

    def take(name: str) -> Path:
        path = ARTIFACTS / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return take


@pytest.fixture
def login(page, live_server):
    """login(username) signs in through the real login form."""

    def sign_in(username: str, password: str = "pw-for-tests") -> None:
        page.goto(f"{live_server.url}/accounts/login/")
        page.get_by_label("Username").fill(username)
        page.get_by_label("Password").fill(password)
        page.get_by_role("button", name="Log in").click()
        page.wait_for_url(f"{live_server.url}/")

    return sign_in
