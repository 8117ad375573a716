"""Credentials, the lease lock and reconciliation, on their own."""

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from connectors.credentials import CredentialsError, credentials_get, credentials_set
from connectors.models import Connector
from connectors.sync import locks
from connectors.sync.reconcile import matched_pct, reconcile_entity
from tests.factories import GLLineFactory, PullConnectorFactory, SyncRunFactory

pytestmark = pytest.mark.django_db


def test_credentials_are_encrypted_at_rest_and_read_back():
    connector = PullConnectorFactory()
    credentials_set(connector, {"token": "very-secret-token"})
    stored = Connector.objects.values_list("credentials_encrypted", flat=True).get(pk=connector.pk)
    assert stored and "very-secret-token" not in stored
    connector.refresh_from_db()
    assert connector.credentials_set_at is not None
    assert credentials_get(connector) == {"token": "very-secret-token"}
    credentials_set(connector, {})
    connector.refresh_from_db()
    assert credentials_get(connector) == {} and connector.credentials_set_at is None


def test_unreadable_credentials_say_so(settings):
    connector = PullConnectorFactory()
    credentials_set(connector, {"token": "x"})
    settings.FINHUB_ENCRYPTION_KEY = "kY0mZz8vC1nqGm5cJ0m8JvQv4a2mJ0mB3x6y0t9oZ1c="
    with pytest.raises(CredentialsError, match="cannot be decrypted"):
        credentials_get(connector)
    with pytest.raises(CredentialsError, match="mapping of names to strings"):
        credentials_set(connector, {"token": 1})


def test_the_lease_admits_one_run_until_it_is_released_or_lapses(settings):
    settings.FINHUB_SYNC_STALE_SECONDS = 120
    connector = PullConnectorFactory()
    first = SyncRunFactory(connector=connector, status="running")
    second = SyncRunFactory(connector=connector, status="queued")
    now = timezone.now()
    assert locks.lock_acquire(connector_id=connector.pk, run_id=first.pk, now=now)
    assert locks.lock_acquire(connector_id=connector.pk, run_id=first.pk, now=now)  # re-entrant
    assert not locks.lock_acquire(connector_id=connector.pk, run_id=second.pk, now=now)
    holder = locks.lock_holder(connector_id=connector.pk)
    assert holder.run_id == first.pk
    assert holder.describe().startswith(f"run #{first.pk} has held the connector's lock since ")
    assert not locks.lease_extend(connector_id=connector.pk, run_id=second.pk)
    assert not locks.lock_release(connector_id=connector.pk, run_id=second.pk)
    # A lapsed lease (the worker died) can be taken over.
    later = now + dt.timedelta(seconds=121)
    assert locks.lock_acquire(connector_id=connector.pk, run_id=second.pk, now=later)
    assert not locks.lease_extend(connector_id=connector.pk, run_id=first.pk)
    assert locks.lock_release(connector_id=connector.pk, run_id=second.pk)
    assert locks.lock_holder(connector_id=connector.pk) is None
    # A lease found empty (a whole-row save of the connector wrote over it) is taken back.
    assert locks.lease_extend(connector_id=connector.pk, run_id=second.pk)
    assert locks.lock_holder(connector_id=connector.pk).run_id == second.pk


def test_reconciliation_compares_counts_and_sums_per_month():
    connector = PullConnectorFactory()
    run = SyncRunFactory(connector=connector)
    for day, amount in ((dt.date(2026, 1, 5), "10.00"), (dt.date(2026, 1, 20), "5.50"),
                        (dt.date(2026, 2, 1), "7.25")):  # fmt: skip
        GLLineFactory(source=connector, posting_date=day, amount=Decimal(amount))
    deleted = GLLineFactory(source=connector, posting_date=dt.date(2026, 2, 2))
    type(deleted).all_objects.filter(pk=deleted.pk).update(deleted_at=timezone.now())
    totals = [
        {"month": "2026-01", "count": 2, "amount": "15.50"},
        {"month": "2026-02", "count": 1, "amount": "7.00"},
        {"month": "2026-03", "count": 1, "amount": "1.00"},
    ]
    result = reconcile_entity(
        run=run, connector=connector, entity="gl_lines", control_totals=totals
    )
    rows = {(r.month, r.source_count, r.finhub_count, r.source_amount, r.finhub_amount, r.matched)
            for r in result.results}  # fmt: skip
    assert rows == {
        (dt.date(2026, 1, 1), 2, 2, Decimal("15.50"), Decimal("15.50"), True),
        (dt.date(2026, 2, 1), 1, 1, Decimal("7.00"), Decimal("7.25"), False),
        (dt.date(2026, 3, 1), 1, 0, Decimal("1.00"), Decimal("0.00"), False),
    }
    assert run.reconciliations.count() == 3
    assert matched_pct([result]) == Decimal("33.33")  # rounded down, never up to 100


def test_an_undated_entity_is_one_count_bucket():
    connector = PullConnectorFactory()
    run = SyncRunFactory(connector=connector)
    result = reconcile_entity(
        run=run,
        connector=connector,
        entity="channels",
        control_totals=[{"month": None, "count": 0, "amount": None}],
    )
    [bucket] = result.results
    assert (bucket.month, bucket.source_count, bucket.finhub_count, bucket.matched) == (
        None, 0, 0, True,
    )  # fmt: skip
    assert bucket.source_amount is None and bucket.finhub_amount is None
