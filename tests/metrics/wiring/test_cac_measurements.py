"""The unit-economics success metrics (blended CAC, LTV:CAC, payback) measured from CAC."""

import datetime as dt
from decimal import Decimal

import pytest

from metrics import services, snapshots
from metrics.computations.presentation import UNDEFINED
from roadmap.models import Measurement
from roadmap.services import programme_load
from tests.metrics.wiring.conftest import END, START


def month(day: str, blended=UNDEFINED, ltv_to_cac=UNDEFINED, payback=UNDEFINED) -> dict:
    return {
        "month": day,
        "blended_cac": blended,
        "ltv_to_cac": ltv_to_cac,
        "payback_months": payback,
    }


def test_latest_complete_month_skips_the_current_month_and_undefined_ones():
    months = [
        month("2026-09-01", "100"),
        month("2026-10-01"),  # no new customers: CAC undefined
        month("2026-11-01", "50"),  # the month in progress
    ]
    chosen = services.latest_complete_month(months, today=dt.date(2026, 11, 27))
    assert chosen["month"] == "2026-09-01"
    assert services.latest_complete_month(months[1:], today=dt.date(2026, 11, 27)) is None


@pytest.mark.django_db
def test_compute_all_pushes_the_last_complete_months_unit_economics(dataset, monkeypatch):
    programme_load()
    months = [
        month("2026-02-01", "1500.004", "4.257", "10.5"),
        month("2026-03-01"),
    ]
    real = snapshots.COMPUTERS[snapshots.Kind.CAC]

    def cac_with_known_months(params):
        return {**real(params), "months": months}

    monkeypatch.setitem(snapshots.COMPUTERS, snapshots.Kind.CAC, cac_with_known_months)
    summary = services.metrics_compute_all(start=START, end=END)
    assert {"blended_cac", "ltv_to_cac", "cac_payback_months"} <= set(summary["measurements"])
    values = {
        m.metric.key: (m.value, m.source, m.note)
        for m in Measurement.objects.select_related("metric").filter(source="auto:metrics.cac")
    }
    assert values == {
        "blended_cac": (Decimal("1500.00"), "auto:metrics.cac", "month 2026-02"),
        "ltv_to_cac": (Decimal("4.26"), "auto:metrics.cac", "month 2026-02"),
        "cac_payback_months": (Decimal("10.50"), "auto:metrics.cac", "month 2026-02"),
    }
