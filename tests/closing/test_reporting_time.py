"""The scorecard's "reduction in financial reporting time" from the last three closes."""

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from closing.computations import period_end
from closing.services import reporting_time_push
from roadmap.models import Measurement
from tests.closing.factories import CloseFactory
from tests.factories import SuccessMetricFactory

pytestmark = pytest.mark.django_db


def delivered(month, hours):
    end = period_end(month, timezone.get_current_timezone())
    return CloseFactory(month=month, pack_delivered_at=end + dt.timedelta(hours=hours))


@pytest.fixture
def metric():
    return SuccessMetricFactory(
        key="reporting_time_reduction", target_value=Decimal("40"), baseline=Decimal("100")
    )


def test_median_of_the_last_three_closes_against_the_baseline(metric):
    delivered(dt.date(2026, 5, 1), 10)  # the fourth latest: left out
    delivered(dt.date(2026, 6, 1), 90)
    delivered(dt.date(2026, 7, 1), 50)
    delivered(dt.date(2026, 8, 1), 70)
    CloseFactory(month=dt.date(2026, 9, 1))  # not delivered yet: not counted
    assert reporting_time_push() is True
    # median(90, 50, 70) = 70 h; (1 - 70 / 100) x 100 = 30 %.
    [measurement] = Measurement.objects.filter(metric=metric)
    assert measurement.value == Decimal("30.00")
    assert measurement.source == "auto:close_reporting_time"
    assert measurement.period == "2026-08"
    assert measurement.note == (
        "Median 70.0 h from period end to pack delivered over 3 close(s) "
        "(2026-08, 2026-07, 2026-06); baseline 100.0000 h."
    )
    assert reporting_time_push() is False  # the same value again: not recorded twice


def test_hours_count_from_local_midnight_ending_the_month(metric, settings):
    settings.TIME_ZONE = "Europe/Paris"
    timezone.activate("Europe/Paris")
    try:
        # September ends at 1 Oct 00:00 Paris = 30 Sep 22:00 UTC; delivered 2 Oct 12:00 UTC.
        CloseFactory(
            month=dt.date(2026, 9, 1),
            pack_delivered_at=dt.datetime(2026, 10, 2, 12, 0, tzinfo=dt.UTC),
        )
        assert reporting_time_push() is True
    finally:
        timezone.deactivate()
    # 38 h; (1 - 38 / 100) x 100 = 62 %.
    assert Measurement.objects.get(metric=metric).value == Decimal("62.00")


def test_nothing_is_pushed_without_a_baseline_or_a_delivered_close(metric):
    assert reporting_time_push() is False  # no close delivered
    delivered(dt.date(2026, 8, 1), 70)
    metric.baseline = None
    metric.save()
    assert reporting_time_push() is False
    assert not Measurement.objects.exists()


def test_nothing_is_pushed_when_the_scorecard_has_no_such_metric():
    delivered(dt.date(2026, 8, 1), 70)
    assert reporting_time_push() is False
