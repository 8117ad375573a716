"""Campaign ROI measurement capability over the database: the report, the scorecard push and
the marketing dashboard's table (the hand-worked March 2026 dataset of
tests/metrics/wiring/conftest.py).

Under the linear model: Spring (spend 425.00) gets 550.00 from D1 (matched to its ERP
revenue) and 300.00 from D2 (invoiced 290.00: not matched); Ghost (spend 120.00) has no
touchpoint; Dud (spend 50.00) has a touchpoint and no revenue. Here Spring's GL lines add
up to 425.00 and Dud's to 50.20 (within 0.5%); Ghost has none.
"""

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from metrics import services
from metrics.measurement_capability import CAPABILITY_KEY, campaign_roi_measurement_push
from metrics.params import GROUP_BY_CAMPAIGN, attribution_params
from metrics.reports.roi_reconciliation import campaign_roi_reconciliation, roi_rows_of
from metrics.snapshots import Kind, snapshot_compute
from records.models import Campaign, Deal, GLLine, Invoice
from roadmap.models import Measurement
from tests import factories as f
from tests.metrics.wiring.conftest import END, START, dataset  # noqa: F401

pytestmark = pytest.mark.django_db
D = Decimal
TODAY = dt.date(2026, 4, 10)  # March 2026 is the last complete month


@pytest.fixture
def tagged(dataset):  # noqa: F811
    src = dataset
    campaigns = {c.name: c for c in Campaign.objects.all()}
    for name, amount in (("Spring", "400.00"), ("Spring", "25.00"), ("Dud", "50.20")):
        f.GLLineFactory(
            source=src,
            campaign=campaigns[name],
            campaign_external_id=campaigns[name].external_id,
            posting_date=dt.date(2026, 3, 15),
            amount=D(amount),
        )
    # Outside the period: not counted.
    f.GLLineFactory(
        source=src, campaign=campaigns["Ghost"], posting_date=dt.date(2026, 4, 2), amount=D("120")
    )
    return src


def reconcile(model="linear"):
    params = attribution_params(model=model, group_by=GROUP_BY_CAMPAIGN, start=START, end=END)
    rows = snapshot_compute(kind=Kind.CAMPAIGN_ROI, params=params).result["rows"]
    return campaign_roi_reconciliation(
        start=START, end=END, model=model, roi_rows=roi_rows_of(rows)
    )


def test_the_report_reconciles_each_campaign_with_spend(tagged, django_assert_max_num_queries):
    params = attribution_params(model="linear", group_by=GROUP_BY_CAMPAIGN, start=START, end=END)
    rows = roi_rows_of(snapshot_compute(kind=Kind.CAMPAIGN_ROI, params=params).result["rows"])
    # FX rates, tagged GL, won deals, their ERP revenue, the unmatched deals' touchpoints.
    with django_assert_max_num_queries(6):
        result = campaign_roi_reconciliation(start=START, end=END, model="linear", roi_rows=rows)
    by_key = {c.key: c for c in result.campaigns}
    assert list(by_key) == ["Dud", "Ghost", "Spring"]
    assert by_key["Dud"].reconciled and by_key["Dud"].gl_cost == D("50.20")
    assert by_key["Ghost"].reasons == (
        "no GL lines tagged with the campaign",
        "no touchpoint carries the campaign, so it has no attributed revenue (no ROI)",
    )
    spring = by_key["Spring"]
    assert (spring.spend, spring.gl_cost, spring.attributed_revenue) == (
        D("425.00"),
        D("425.00"),
        D("850.00"),
    )
    assert (spring.unmatched_revenue, spring.unmatched_deals) == (D("300.00"), 1)
    assert spring.why == "attributed revenue from 1 won deal without matching ERP revenue (300.00)"
    assert result.capability_percent == D("33.33")


def test_fixing_the_erp_revenue_reconciles_the_campaign(tagged):
    d2 = Deal.objects.get(amount=D("300.00"))
    f.InvoiceFactory(source=tagged, deal=d2, amount=D("10.00"), issue_date=dt.date(2026, 3, 29))
    result = reconcile()
    assert [c.key for c in result.failing] == ["Ghost"]
    assert result.capability_percent == D("66.67")


def test_only_the_deals_a_model_credits_count(tagged):
    """D1 (Spring then Newsletter) mismatched, D2 matched: under last touch D1 credits only
    Newsletter (no spend), so Spring is reconciled; under linear half of D1 is Spring's."""
    d2 = Deal.objects.get(amount=D("300.00"))
    f.InvoiceFactory(source=tagged, deal=d2, amount=D("10.00"), issue_date=dt.date(2026, 3, 29))
    Invoice.objects.filter(deal__amount=D("1000.00")).update(amount=D("900.00"))
    assert "Spring" not in {c.key for c in reconcile("last_touch").failing}
    spring = {c.key: c for c in reconcile("linear").failing}["Spring"]
    assert (spring.unmatched_revenue, spring.unmatched_deals) == (D("550.00"), 1)


def test_a_gl_mismatch_is_reported(tagged):
    GLLine.objects.filter(amount=D("25.00")).update(amount=D("75.00"))
    spring = {c.key: c for c in reconcile().failing}["Spring"]
    assert spring.reasons[0] == "spend 425.00 vs GL 475.00 (11.8% off)"


# --- pushed to the scorecard ------------------------------------------------------------------


def latest():
    return Measurement.objects.filter(metric__key=CAPABILITY_KEY).latest("measured_at", "pk")


def test_the_push_records_the_last_complete_months_capability(tagged):
    f.SuccessMetricFactory(key=CAPABILITY_KEY)
    assert campaign_roi_measurement_push(today=TODAY) == [CAPABILITY_KEY]
    measurement = latest()
    assert measurement.value == D("33.33")
    assert measurement.source == "auto:metrics.campaign_roi_reconciliation"
    assert measurement.period == "2026-03"
    assert measurement.note == (
        "month 2026-03, linear model: 2 of 3 campaigns with spend not reconciled (Ghost, Spring)"
    )


def test_the_push_is_quiet_without_the_metric_or_without_spend(tagged, settings):
    assert campaign_roi_measurement_push(today=TODAY) == []  # no such success metric
    f.SuccessMetricFactory(key=CAPABILITY_KEY)
    assert campaign_roi_measurement_push(today=dt.date(2026, 7, 1)) == []  # June: no spend
    assert not Measurement.objects.exists()


def test_the_engine_run_updates_the_measurement_automatically(tagged, monkeypatch):
    """The issue's "updates automatically in a test": each engine run pushes it, and a fix in
    the data moves it."""
    f.SuccessMetricFactory(key=CAPABILITY_KEY)
    monkeypatch.setattr(timezone, "localdate", lambda *a, **k: TODAY)
    summary = services.metrics_compute_all(models=["linear"], start=START, end=END)
    assert CAPABILITY_KEY in summary["measurements"]
    assert latest().value == D("33.33")

    d2 = Deal.objects.get(amount=D("300.00"))
    f.InvoiceFactory(source=tagged, deal=d2, amount=D("10.00"), issue_date=dt.date(2026, 3, 29))
    services.metrics_compute_all(models=["linear"], start=START, end=END)
    assert latest().value == D("66.67")
    assert Measurement.objects.filter(metric__key=CAPABILITY_KEY).count() == 2


# --- the marketing dashboard ----------------------------------------------------------------


def test_the_marketing_page_lists_the_campaigns_not_reconciled(tagged, client, finance_viewer):
    client.force_login(finance_viewer)
    response = client.get("/dashboards/marketing/", {"period": "month", "month": "2026-03"})
    assert response.status_code == 200
    table = response.context["tables"]["roi_not_reconciled"]
    rows = {row.values["key"]: row.values for row in table.rows}
    assert set(rows) == {"Ghost", "Spring"}
    assert rows["Spring"]["unmatched"] == D("300.00")
    assert rows["Spring"]["gl"] == D("425.00")
    assert rows["Ghost"]["gl"] is None and rows["Ghost"]["revenue"] is None
    assert "1 of 3 campaigns with spend have a reconciled ROI (33.33%" in table.note
    assert "ROI measurement: campaigns not reconciled" in response.content.decode()
