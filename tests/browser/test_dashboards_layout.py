"""Every dashboard at tablet width, and the period form and a drill-down by keyboard only."""

import pytest

from tests.browser.test_dashboards_executive_cac import company_data  # noqa: F401 (fixture)

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

PAGES = ("executive", "marketing", "sales", "cac")


def test_dashboards_fit_a_tablet_and_work_by_keyboard(
    page,
    live_server,
    login,
    screenshot,
    company_data,  # noqa: F811
):
    login("fiona")
    page.set_viewport_size({"width": 768, "height": 1024})
    for name in PAGES:
        page.goto(f"{live_server.url}/dashboards/{name}/?period=ytd")
        page.locator("h1").wait_for()
        # Wide tables may scroll inside their own box, but the page itself does not.
        overflow = page.evaluate(
            "document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )
        assert overflow <= 1, f"{name}: the page is {overflow}px wider than a tablet"
        screenshot(f"dashboard-{name}-tablet")

    # Keyboard only: tab to the first drill-down link of the executive trend table and
    # follow it with Enter.
    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto(f"{live_server.url}/dashboards/executive/?period=month&month=2026-09")
    target = page.locator("main table a[href*='/dashboards/drill/']").first
    href = target.get_attribute("href")
    for _ in range(400):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.getAttribute('href')") == href:
            break
    else:
        pytest.fail("the drill-down link is not reachable with Tab")
    page.keyboard.press("Enter")
    page.wait_for_url("**/dashboards/drill/**")
    assert page.locator("main table tbody tr").count() > 0
