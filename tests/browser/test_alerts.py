"""The Alerts page in a real browser: the bell counts a firing alert, the list shows it, its
page draws the chart with the threshold, and a finance viewer acknowledges it. Screenshots
under test-artifacts/screenshots/alerts-*.png."""

import datetime as dt
from decimal import Decimal

import pytest

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


@pytest.fixture
def firing_alert():
    from django.utils import timezone

    from finhub.core import roles
    from tests.alerts.factories import AlertInstanceFactory, AlertRuleFactory
    from tests.factories import user_with_role

    user_with_role(roles.FINANCE_VIEWER, username="fiona", first_name="Fiona")
    rule = AlertRuleFactory(
        name="Department over budget",
        metric="budget_variance_pct",
        scope="department",
        comparator="gt",
        threshold=Decimal("5"),
        severity="critical",
    )
    now = timezone.now()
    start = now - dt.timedelta(minutes=30)
    return AlertInstanceFactory(
        rule=rule,
        scope_key="MKT",
        scope_label="Marketing",
        state="firing",
        value=Decimal("7.25"),
        state_since=now - dt.timedelta(minutes=10),
        fired_at=now - dt.timedelta(minutes=10),
        last_evaluated_at=now,
        samples=[
            [(start + dt.timedelta(minutes=5 * i)).isoformat(), value]
            for i, value in enumerate(["3.1", "4.0", None, "5.5", "6.8", "7.25"])
        ],
    )


def test_a_finance_viewer_sees_the_firing_alert_and_acknowledges_it(
    page, live_server, login, screenshot, firing_alert
):
    from alerts.models import Acknowledgement

    login("fiona")
    bell = page.locator("#alerts-bell")
    assert bell.get_attribute("aria-label") == "Alerts: 1 firing"
    bell.click()
    page.wait_for_url(f"{live_server.url}/alerts/")
    row = page.locator(f'#active-alerts tr[data-instance="{firing_alert.pk}"]')
    assert "Department over budget" in row.inner_text()
    assert "7.3%" in row.inner_text()
    screenshot("alerts-list")

    row.get_by_role("link", name="Department over budget").click()
    page.wait_for_url(f"{live_server.url}/alerts/{firing_alert.pk}/")
    page.wait_for_function("window.finhubCharts && window.finhubCharts.samples")
    datasets = page.evaluate(
        "window.finhubCharts.samples.data.datasets.map(d => [d.label, d.data])"
    )
    assert datasets[0][1] == [3.1, 4, None, 5.5, 6.8, 7.25]
    assert datasets[1] == ["Threshold (above)", [5, 5, 5, 5, 5, 5]]
    screenshot("alerts-detail")

    form = page.locator("#acknowledge-form")
    form.get_by_label("Note").fill("Checking the marketing invoices")
    form.get_by_role("button", name="Acknowledge").click()
    page.wait_for_url(f"{live_server.url}/alerts/{firing_alert.pk}/")
    assert "Acknowledged" in page.locator(".messages").inner_text()
    assert "Fiona" in page.locator("#alert-ack").inner_text()
    ack = Acknowledgement.objects.get()
    assert ack.owner.username == "fiona" and ack.note == "Checking the marketing invoices"
    screenshot("alerts-acknowledged")
