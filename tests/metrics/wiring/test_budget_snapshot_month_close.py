"""A stored budget report whose outturn counted fewer closed months than today's is
recomputed when read, not served (a month closed since it was computed)."""

import datetime as dt

import pytest

from metrics.models import MetricSnapshot
from metrics.params import budget_params
from metrics.snapshots import snapshot_get_or_compute, snapshots_get

pytestmark = pytest.mark.django_db

PARAMS = budget_params(start=dt.date(2026, 1, 1), end=dt.date(2026, 3, 31))


def _store_with_closed_through(month: str) -> MetricSnapshot:
    snapshot = snapshot_get_or_compute(kind=MetricSnapshot.Kind.BUDGET_VARIANCE, params=PARAMS)
    snapshot.result = {**snapshot.result, "closed_through": month}
    snapshot.save(update_fields=["result"])
    return snapshot


def test_a_budget_report_from_before_a_month_closed_is_recomputed():
    _store_with_closed_through("1999-01-01")
    fresh = snapshot_get_or_compute(kind=MetricSnapshot.Kind.BUDGET_VARIANCE, params=PARAMS)
    assert fresh.result["closed_through"] != "1999-01-01"
    _store_with_closed_through("1999-01-01")
    [batch] = snapshots_get([(MetricSnapshot.Kind.BUDGET_VARIANCE, PARAMS)])
    assert batch.result["closed_through"] != "1999-01-01"
    assert MetricSnapshot.objects.count() == 1


def test_a_current_budget_report_is_served_as_stored():
    stored = snapshot_get_or_compute(kind=MetricSnapshot.Kind.BUDGET_VARIANCE, params=PARAMS)
    again = snapshot_get_or_compute(kind=MetricSnapshot.Kind.BUDGET_VARIANCE, params=PARAMS)
    assert again.computed_at == stored.computed_at
