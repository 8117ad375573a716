"""Roadmap labels (issue #18, item 14): scorecard values in their unit ("≤ USD 20,000.00",
not "≤ 20,000 reporting currency"), History values readable ("To do → Done", "—" rather
than "None", times without microseconds)."""

import re
from decimal import Decimal

import pytest
from django.urls import reverse

from roadmap.models import ChecklistItem
from roadmap.selectors import metric_target_text, metric_value_text
from tests.factories import MeasurementFactory, SuccessMetricFactory
from tests.roadmap.test_admin import CHANGELIST, tick_post

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("value", "unit", "text"),
    [
        (Decimal("20000.0000"), "money", "USD 20,000.00"),
        (Decimal("1234.5650"), "money", "USD 1,234.57"),
        (Decimal("99.5000"), "percent", "99.5%"),
        (Decimal("12.5000"), "points", "12.5 pp"),  # an improvement: percentage points
        (Decimal("300.0000"), "seconds", "300 s"),
        (Decimal("12.0000"), "months", "12 months"),
        (Decimal("3.0000"), "ratio", "3"),
        (Decimal("1500.0000"), "count", "1,500"),
        (None, "money", "\u2014"),
    ],
)
def test_metric_values_are_shown_in_their_unit(value, unit, text, settings):
    settings.FINHUB_REPORTING_CURRENCY = "USD"
    assert metric_value_text(value, unit=unit) == text


def money_metric(**kwargs):
    return SuccessMetricFactory(
        **kwargs,
        key="blended_cac_limit",
        name="Blended CAC",
        unit="money",
        direction="at_most",
        target_value=Decimal("20000"),
    )


def test_scorecards_show_the_currency_not_reporting_currency(
    client, programme, project_manager, settings
):
    settings.FINHUB_REPORTING_CURRENCY = "USD"
    metric = money_metric(programme=programme)
    MeasurementFactory(metric=metric, value=Decimal("18250.5"))
    assert metric_target_text(metric) == "\u2264 USD 20,000.00"
    client.force_login(project_manager)
    for url in (reverse("roadmap:dashboard"), reverse("home")):
        html = client.get(url).content.decode()
        assert "reporting currency</td>" not in html, url
        assert "\u2264 USD 20,000.00" in html, url
        assert "USD 18,250.50" in html, url


def test_the_admin_scorecard_shows_the_currency(client, superuser, settings):
    settings.FINHUB_REPORTING_CURRENCY = "USD"
    MeasurementFactory(metric=money_metric(), value=Decimal("18250.5"))
    client.force_login(superuser)
    html = client.get(reverse("admin:roadmap_successmetric_changelist")).content.decode()
    assert "\u2264 USD 20,000.00" in html and "USD 18,250.50" in html
    assert "reporting currency" not in html


def test_history_values_are_readable(client, programme, project_manager):
    client.force_login(project_manager)
    item = ChecklistItem.objects.get(key="p1-erp-api-connection")
    client.post(CHANGELIST, tick_post(item, "done"))  # stamps completed_at/by
    page = client.get(reverse("admin:roadmap_checklistitem_history", args=[item.pk]))
    changes = {
        c["field"]: (str(c["old"]), str(c["new"]))
        for c in page.context["page_obj"][0].history_delta_changes
    }
    assert changes["Status"] == ("To do", "Done")
    old, new = changes["Completed at"]
    assert old == "\u2014"
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", new), new  # no microseconds
    html = page.content.decode()
    assert "None" not in re.sub(r"<script.*?</script>", "", html, flags=re.S)
    assert not re.search(r"\d\d:\d\d:\d\d\.\d{6}", html)
