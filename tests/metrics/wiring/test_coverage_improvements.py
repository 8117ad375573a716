"""The two improvement success metrics: retention ROI measurement coverage and development ROI
tracking coverage of the last complete month (March 2026 when today is 10 April), minus their
baseline, pushed to the scorecard (hand-worked coverages in test_cs_roi_report.py and
test_initiative_roi_report.py: 25 % and 42.857… %)."""

import datetime as dt
from decimal import Decimal

import pytest

from metrics import services
from roadmap.models import Measurement, SuccessMetric
from roadmap.services import programme_load
from tests import factories as f
from tests.metrics.wiring.retention_data import day, initiatives_dataset, subscriptions_dataset

pytestmark = pytest.mark.django_db

TODAY = dt.date(2026, 4, 10)
RETENTION = "retention_roi_measurement_improvement"
DEVELOPMENT = "development_roi_tracking_improvement"


@pytest.fixture
def data(settings):
    settings.FINHUB_REPORTING_CURRENCY = "USD"
    settings.FINHUB_GROSS_MARGIN = "0.80"
    settings.FINHUB_BASELINE_MONTHS = 2
    programme_load()
    return {**subscriptions_dataset(), **initiatives_dataset()}


def latest(key: str) -> Measurement:
    return Measurement.objects.filter(metric__key=key).order_by("-measured_at", "-pk").first()


def test_the_demo_programme_has_both_metrics(data):
    assert set(
        SuccessMetric.objects.filter(key__in=[RETENTION, DEVELOPMENT]).values_list("key", flat=True)
    ) == {RETENTION, DEVELOPMENT}


def test_first_measurement_is_the_baseline_then_the_metrics_move(data):
    pushed = services.coverage_improvements_push(today=TODAY)
    assert set(pushed) == {RETENTION, DEVELOPMENT}
    assert latest(RETENTION).value == Decimal("0")
    assert latest(RETENTION).source == "auto:metrics.cs_roi"
    assert latest(RETENTION).note == "month 2026-03: coverage 25.00% - baseline 25.00%"
    assert latest(DEVELOPMENT).value == Decimal("0")
    assert SuccessMetric.objects.get(key=RETENTION).baseline == Decimal("25")
    assert SuccessMetric.objects.get(key=DEVELOPMENT).baseline == Decimal("42.8571")

    # D moves to SMB (a segment with an ROI): (120 + 110) / 480 = 47.92 % → +22.92 pp.
    customer = data["customers"]["D"]
    customer.segment = "SMB"
    customer.save()
    # Z gets a benefit: (900 + 200) / 2100 = 52.38 % → 52.3809… - 42.8571 = +9.52 pp.
    f.InitiativeBenefitFactory(source=data["source"], initiative=data["z"], date=day(3, 30))
    services.coverage_improvements_push(today=TODAY)
    assert latest(RETENTION).value == Decimal("22.92")
    assert latest(DEVELOPMENT).value == Decimal("9.52")


def test_a_baseline_entered_by_a_project_manager_is_used(data):
    SuccessMetric.objects.filter(key=RETENTION).update(baseline=Decimal("10"))
    services.coverage_improvements_push(today=TODAY)
    assert latest(RETENTION).value == Decimal("15.00")  # 25 - 10
    assert SuccessMetric.objects.get(key=RETENTION).baseline == Decimal("10")


def test_compute_all_pushes_them(data, monkeypatch):
    monkeypatch.setattr(services, "coverage_improvements_push", lambda: [RETENTION])
    summary = services.metrics_compute_all(start=day(3, 1), end=day(3, 31))
    assert RETENTION in summary["measurements"]
