"""The home page per role in a real browser: each role's answers, fitting 1440, 1024 and
768 px (issue #18, 12). Screenshots under test-artifacts/screenshots/home-*.png."""

import datetime

import pytest

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

WIDTHS = (1440, 1024, 768)


@pytest.fixture
def home_data():
    from django.utils import timezone

    from finhub.core import roles
    from roadmap.services import programme_load
    from tests.factories import PullConnectorFactory, RejectedRecordFactory, user_with_role
    from tests.overview.home_data import store_home_snapshots

    store_home_snapshots()
    programme_load(start_date=timezone.localdate() - datetime.timedelta(weeks=6))
    now = timezone.now()
    PullConnectorFactory(name="Sandbox ERP", kind="erp", last_success_at=now)
    crm = PullConnectorFactory(
        name="Sandbox CRM", kind="crm", last_success_at=now, consecutive_failures=2
    )
    for _ in range(3):
        RejectedRecordFactory(source=crm, entity="deals")
    user_with_role(roles.FINANCE_VIEWER, username="fiona", first_name="Fiona")
    user_with_role(roles.PROJECT_MANAGER, username="pat", first_name="Pat")
    user_with_role(roles.INTEGRATION_ADMIN, username="ivan", first_name="Ivan")


def fits(page) -> int:
    """How many pixels the page is wider than the window (0: nothing sticks out)."""
    return page.evaluate(
        "document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )


@pytest.mark.parametrize(
    ("username", "section", "expect"),
    [
        ("fiona", "#home-finance", "USD 1,200,000.00"),
        ("pat", "#home-rollout", "Week 7 of 16"),
        ("ivan", "#home-integration", "Sandbox CRM"),
    ],
)
def test_each_role_sees_its_answers_at_every_width(
    page, live_server, login, screenshot, home_data, username, section, expect
):
    login(username)
    others = {"#home-finance", "#home-rollout", "#home-integration"} - {section}
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 900})
        page.goto(f"{live_server.url}/")
        box = page.locator(section)
        assert box.is_visible()
        assert expect in box.inner_text()
        for other in others:
            assert page.locator(other).count() == 0
        assert fits(page) <= 1, f"{username} at {width}px: the page is wider than the window"
        screenshot(f"home-{username}-{width}")
    if username == "fiona":
        # Every headline has its sparkline and freshness; the definitions are one click away.
        assert page.locator("#home-finance .headline").count() == 4
        assert page.locator("#home-finance svg.sparkline").count() == 4
        page.get_by_role("link", name="How is this computed?").click()
        page.wait_for_url("**/docs/metrics/")
        assert page.get_by_role("heading", name="How FinHub computes its figures").is_visible()
        for width in WIDTHS:
            page.set_viewport_size({"width": width, "height": 900})
            assert fits(page) <= 1, f"the metric definitions are wider than {width}px"
        screenshot("docs-metrics-768")
        page.set_viewport_size({"width": 1440, "height": 900})
        page.get_by_role("link", name="Campaign ROI", exact=True).first.click()
        assert page.url.endswith("#campaign-roi")
        screenshot("docs-metrics-1440")
