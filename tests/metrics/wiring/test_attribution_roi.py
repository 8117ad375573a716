"""Attribution, campaign ROI and the scorecard measurements through the database."""

import datetime as dt
from decimal import Decimal
from unittest import mock

import pytest

from metrics import services
from metrics.models import MetricSnapshot
from metrics.params import attribution_params
from metrics.snapshots import snapshot_get_or_compute
from roadmap.models import Measurement
from roadmap.services import programme_load
from tests import factories as f
from tests.metrics.wiring.conftest import END, START

pytestmark = pytest.mark.django_db


def report(kind, model, group_by="channel", **extra):
    params = attribution_params(model=model, group_by=group_by, start=START, end=END, **extra)
    return snapshot_get_or_compute(kind=kind, params=params).result


def rows(result):
    return {row["key"]: (row["conversions"], row["revenue"]) for row in result["rows"]}


def test_linear_by_channel_converts_at_close_date_and_reports_unattributed(dataset):
    result = report("attribution", "linear")
    # D1 EUR 1000 at 1.10 = 1100 split 1/2, 1/2; D2 300 to Search. Channel of the
    # campaign-only touchpoint comes from its campaign (Newsletter → Email).
    assert rows(result) == {
        "Email": ("0.5", "550.00"),
        "Search": ("1.5", "850.00"),
        "(unattributed)": ("2", "60.00"),
    }
    assert result["attributed_count"] == 2
    assert result["attributed_revenue"] == "1400.00"
    assert result["unattributed_count"] == 2
    assert result["missing_fx"] == []


def test_first_and_last_touch_and_campaign_level(dataset):
    assert rows(report("attribution", "first_touch"))["Search"] == ("2", "1400.00")
    assert rows(report("attribution", "first_touch"))["Email"] == ("0", "0.00")
    last = rows(report("attribution", "last_touch"))
    assert last["Email"] == ("1", "1100.00")
    assert last["Search"] == ("1", "300.00")
    campaign = rows(report("attribution", "linear", group_by="campaign"))
    assert campaign["Spring"] == ("1.5", "850.00")
    assert campaign["Newsletter"] == ("0.5", "550.00")
    assert campaign["Dud"] == ("0", "0.00")


@pytest.mark.parametrize("model", ["position_based", "time_decay", "markov", "shapley"])
def test_every_model_allocates_all_attributed_revenue(dataset, model):
    for group_by in ("channel", "campaign"):
        result = report("attribution", model, group_by=group_by)
        attributed = [row for row in result["rows"] if row["key"] != "(unattributed)"]
        assert sum(Decimal(row["revenue"]) for row in attributed) == Decimal("1400.00")
        assert result["unattributed_revenue"] == "60.00"


def test_shorter_lookback_makes_more_unattributed(dataset):
    # D1 closes 10 Mar 12:00: a 6-day lookback keeps the 5 Mar touch only (Email), and D2
    # (20 Mar) loses its 2 Mar touch.
    result = report("attribution", "linear", lookback_days=6)
    assert rows(result)["Email"] == ("1", "1100.00")
    assert result["unattributed_count"] == 3


def test_missing_fx_rate_is_reported_not_guessed(dataset):
    from records.models import FxRate

    FxRate.objects.filter(date=dt.date(2026, 3, 10)).delete()
    result = report("attribution", "linear")
    assert result["missing_fx"] == [
        {
            "deal": result["missing_fx"][0]["deal"],
            "currency": "EUR",
            "date": "2026-03-10",
            "amount": "1000.00",
        }
    ]
    assert result["attributed_revenue"] == "300.00"


def test_campaign_roi_edge_cases(dataset):
    result = report("campaign_roi", "linear", group_by="campaign")
    by_key = {row["key"]: row for row in result["rows"]}
    # Spring: (850 - 425) / 425 = 1, ROAS 2.
    assert by_key["Spring"]["cost"] == "425.00"
    assert Decimal(by_key["Spring"]["roi"]) == 1
    assert Decimal(by_key["Spring"]["roas"]) == 2
    # Newsletter: revenue without cost → cost missing, no ROI.
    assert by_key["Newsletter"]["status"] == "cost_missing"
    assert by_key["Newsletter"]["roi"] == "undefined"
    assert result["cost_missing"] == ["Newsletter"]
    # Dud: spend, touchpoints, no revenue → -100 %.
    assert Decimal(by_key["Dud"]["roi"]) == -1
    # Ghost: EUR 100 at 1.20 = 120 of spend, no touchpoint carries it → not tracked.
    assert Decimal(by_key["Ghost"]["cost"]) == Decimal("120.00")
    assert by_key["Ghost"]["status"] == "not_tracked"
    assert [row["key"] for row in result["lacking_roi"]] == ["Ghost"]
    assert "no touchpoint" in result["lacking_roi"][0]["why"]
    assert Decimal(result["tracking_capability"]) == Decimal(2) / Decimal(3)


def test_channel_roi_sums_campaign_spend_per_channel(dataset):
    result = report("campaign_roi", "linear", group_by="channel")
    by_key = {row["key"]: row for row in result["rows"]}
    # Search: spend 425 + 120 + 50 = 595, revenue 850.
    assert Decimal(by_key["Search"]["cost"]) == Decimal("595.00")
    assert Decimal(by_key["Search"]["revenue"]) == Decimal("850.00")
    assert by_key["Email"]["status"] == "cost_missing"


def test_compute_all_pushes_scorecard_measurements(dataset):
    programme_load()
    summary = services.metrics_compute_all(start=START, end=END)
    assert sorted(summary["measurements"]) == [
        "campaign_roi_tracking_capability",
        "revenue_attribution_accuracy",
        "sales_finance_consistency",
    ]
    values = {
        m.metric.key: (m.value, m.source)
        for m in Measurement.objects.select_related("metric").filter(source__startswith="auto:")
    }
    # Won revenue 1100 + 300 + 50 + 10 = 1460; matched to the ERP and attributed: D1 only.
    assert values["revenue_attribution_accuracy"] == (
        Decimal("75.34"),
        "auto:metrics.attribution",
    )
    assert values["campaign_roi_tracking_capability"][0] == Decimal("66.67")
    # D1 and D3 match their invoices, D2 (290 vs 300) and D4 (none) do not.
    assert values["sales_finance_consistency"][0] == Decimal("50.00")
    # 7 models x 2 groupings x (attribution + ROI) + CAC + sales + 4 budget groupings
    # + subscriptions, cohorts, CS ROI and initiative ROI of the period + CS ROI and
    # initiative ROI of the last complete month (the two coverage improvements).
    assert MetricSnapshot.objects.count() == 7 * 2 * 2 + 2 + 4 + 4 + 2


def test_recompute_replaces_the_snapshot(dataset):
    params = attribution_params(model="linear", start=START, end=END)
    first = snapshot_get_or_compute(kind="attribution", params=params)
    f.DealFactory(
        source=dataset,
        amount=Decimal("40.00"),
        closed_at=dt.datetime(2026, 3, 30, tzinfo=dt.UTC),
    )
    services.metrics_compute_all(models=["linear"], start=START, end=END, push_measurements=False)
    snapshots = MetricSnapshot.objects.filter(
        kind="attribution", model="linear", group_by="channel"
    )
    assert snapshots.count() == 1
    snapshot = snapshots.get()
    assert snapshot.pk == first.pk
    assert snapshot.result["unattributed_revenue"] == "100.00"
    assert snapshot.computed_at >= first.computed_at
    assert snapshot.inputs_freshness is not None


def test_recompute_after_sync_enqueues_on_commit(dataset, django_capture_on_commit_callbacks):
    with (
        mock.patch("metrics.tasks.compute_metrics.apply_async") as send,
        django_capture_on_commit_callbacks(execute=True),
    ):
        services.metrics_recompute_after_sync(connector_id=dataset.pk)
        send.assert_not_called()
    send.assert_called_once()
    assert send.call_args.kwargs["kwargs"]["connector_id"] == dataset.pk
