"""connectors.selectors.source_freshness: the status and sentence dashboards show per source."""

from datetime import UTC, datetime, timedelta

import pytest

from connectors import schedules_service
from connectors.selectors import source_freshness
from tests.factories import ConnectorFactory, PullConnectorFactory

pytestmark = pytest.mark.django_db
NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)


def _one(**fields):
    PullConnectorFactory(name="ERP", **fields)
    (item,) = source_freshness(now=NOW)
    return item


def test_fresh_within_the_default_day():
    item = _one(last_success_at=NOW - timedelta(hours=3))
    assert (item.status, item.is_warning) == ("fresh", False)
    assert item.message == "Last good sync 3 hours ago."
    assert (item.kind, item.kind_label) == ("erp", "ERP / general ledger")
    assert item.last_success_at == NOW - timedelta(hours=3)


def test_stale_after_a_day_without_schedule_or_threshold():
    item = _one(last_success_at=NOW - timedelta(hours=25))
    assert (item.status, item.is_warning) == ("stale", True)
    assert item.message == "Stale: last good sync 1 day ago."


def test_explicit_threshold_wins():
    assert _one(last_success_at=NOW - timedelta(minutes=45), stale_after_minutes=30).status == (
        "stale"
    )


def test_interval_schedule_makes_twice_the_interval_the_threshold():
    connector = PullConnectorFactory(name="CRM", last_success_at=NOW - timedelta(minutes=35))
    schedules_service.connector_schedule_set(connector=connector, kind="interval", every_minutes=15)
    assert source_freshness(now=NOW)[0].status == "stale"  # 35 min > 2 x 15 min
    connector.last_success_at = NOW - timedelta(minutes=25)
    connector.save()
    assert source_freshness(now=NOW)[0].status == "fresh"


def test_crontab_schedule_keeps_the_one_day_default():
    connector = PullConnectorFactory(name="CRM", last_success_at=NOW - timedelta(hours=20))
    schedules_service.connector_schedule_set(
        connector=connector, kind="crontab", crontab="0 6 * * *"
    )
    assert source_freshness(now=NOW)[0].status == "fresh"


def test_never_synced():
    item = _one()
    assert (item.status, item.message, item.is_warning) == ("never", "Never synced.", True)


def test_failing_says_how_many_and_when_it_last_worked():
    item = _one(consecutive_failures=2, last_success_at=NOW - timedelta(hours=3))
    assert item.status == "failing"
    assert item.message == "The last 2 syncs failed; last good sync 3 hours ago."
    assert _one_more(consecutive_failures=1).message == (
        "The last sync failed; never synced successfully."
    )


def _one_more(**fields):
    PullConnectorFactory(name="Zeta", **fields)
    return source_freshness(now=NOW)[-1]


def test_paused_wins_and_gives_the_reason():
    item = _one(
        consecutive_failures=3,
        paused_at=NOW - timedelta(minutes=5),
        pause_reason="HTTP 503 from the source",
        last_success_at=NOW - timedelta(days=2),
    )
    assert item.status == "paused"
    assert item.message == (
        "Paused after 3 failed runs: HTTP 503 from the source; last good sync 2 days ago."
    )
    manual = _one_more(paused_at=NOW, pause_reason="paused by ivan in the admin")
    assert manual.message == "Paused: paused by ivan in the admin; never synced successfully."


def test_ordered_by_name_push_only_and_disabled_left_out_in_one_query(
    django_assert_num_queries,
):
    for name in ("Marketing", "Budget", "ERP"):
        connector = PullConnectorFactory(name=name, last_success_at=NOW)
        schedules_service.connector_schedule_set(
            connector=connector, kind="interval", every_minutes=15
        )
    PullConnectorFactory(name="Old ERP", enabled=False)
    ConnectorFactory(name="Push API", transport="push_only")
    with django_assert_num_queries(1):
        items = source_freshness(now=NOW)
    assert [i.name for i in items] == ["Budget", "ERP", "Marketing"]
    assert {i.status for i in items} == {"fresh"}
