"""Period locks: lock / unlock (audited) and post-close adjustments flagged on every write path
(API push, webhook, import, admin save and delete, sync upserts and soft deletes)."""

import datetime as dt
import json
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from connectors.services import connector_webhook_secret_rotate
from connectors.webhooks import signature_header
from records import locks
from records import models as m
from records.ingestion import locks as flagging
from records.ingestion.deletes import records_soft_delete, records_soft_delete_unseen
from records.ingestion.entities import ENTITIES
from records.ingestion.services import Actor, ingest_records, records_delete
from tests.connectors.helpers import make_token, post_json, reset_throttles
from tests.factories import ConnectorFactory

pytestmark = pytest.mark.django_db

SEPT = dt.date(2026, 9, 1)
OCT = dt.date(2026, 10, 1)
NOV = dt.date(2026, 11, 1)


@pytest.fixture(autouse=True)
def _fresh_throttles():
    reset_throttles()
    yield
    reset_throttles()


@pytest.fixture
def source():
    return ConnectorFactory(name="ERP")


def line(ext, posting_date="2026-10-31", amount="1200.00", **fields):
    return {
        "external_id": ext,
        "account": "4000",
        "posting_date": posting_date,
        "amount": amount,
        "currency": "EUR",
        **fields,
    }


def ingest(source, records, via="api", user=None, **kwargs):
    return ingest_records(
        source=source,
        entity="gl_lines",
        records=records,
        actor=Actor(user=user, via=via),
        **kwargs,
    )


def flagged():
    return list(
        m.PostCloseAdjustment.objects.order_by("id").values_list(
            "month", "entity", "external_id", "outcome", "via"
        )
    )


# --- locking and unlocking ---------------------------------------------------------------------


def test_lock_is_idempotent_and_audited(superuser):
    lock = locks.period_lock(month=OCT, user=superuser, reason="October closed")
    again = locks.period_lock(month=OCT, user=superuser)
    assert again.pk == lock.pk
    assert locks.period_is_locked(month=OCT)
    assert not locks.period_is_locked(month=NOV)
    assert locks.locked_months() == {OCT}
    events = list(locks.period_lock_event_list(month=OCT))
    assert [(e.action, e.by, e.reason) for e in events] == [("lock", superuser, "October closed")]


@pytest.mark.parametrize(
    "month", [dt.date(2026, 10, 15), dt.datetime(2026, 10, 1, tzinfo=dt.UTC), "2026-10-01"]
)
def test_a_month_must_be_a_first_of_month_date(month):
    with pytest.raises(ValidationError) as error:
        locks.period_lock(month=month)
    assert "month" in error.value.message_dict
    assert not m.PeriodLock.objects.exists()


def test_unlock_needs_a_reason_and_is_audited(superuser):
    locks.period_lock(month=OCT, user=superuser)
    with pytest.raises(ValidationError) as error:
        locks.period_unlock(month=OCT, user=superuser, reason="  ")
    assert error.value.message_dict == {"reason": ["Say why the period is unlocked."]}
    assert locks.period_is_locked(month=OCT)  # nothing changed

    locks.period_unlock(month=OCT, user=superuser, reason="Late supplier invoice")
    assert not locks.period_is_locked(month=OCT)
    events = list(locks.period_lock_event_list(month=OCT))
    assert [(e.action, e.reason) for e in events] == [
        ("unlock", "Late supplier invoice"),
        ("lock", ""),
    ]
    assert events[0].by == superuser


def test_unlocking_a_month_that_is_not_locked_is_refused(superuser):
    with pytest.raises(ValidationError) as error:
        locks.period_unlock(month=OCT, user=superuser, reason="why not")
    assert "month" in error.value.message_dict
    assert not m.PeriodLockEvent.objects.exists()


def test_the_post_close_window_starts_when_the_previous_month_was_last_locked():
    assert locks.post_close_window_start(month=NOV) is None
    first = timezone.now() - dt.timedelta(days=3)
    m.PeriodLockEvent.objects.create(month=OCT, action="lock", at=first)
    m.PeriodLockEvent.objects.create(month=OCT, action="unlock", at=first + dt.timedelta(days=1))
    relocked = first + dt.timedelta(days=2)
    m.PeriodLockEvent.objects.create(month=OCT, action="lock", at=relocked)
    m.PeriodLockEvent.objects.create(month=NOV, action="lock", at=timezone.now())
    assert locks.post_close_window_start(month=NOV) == relocked
    assert locks.post_close_window_start(month=dt.date(2026, 12, 1)) is not None
    assert locks.post_close_window_start(month=OCT) is None


def test_adjustment_list_filters_by_month_and_window(source):
    now = timezone.now()
    common = {"entity": "gl_lines", "source": source, "outcome": "updated", "via": "api"}
    old = m.PostCloseAdjustment.objects.create(
        month=SEPT, external_id="a", recorded_at=now - dt.timedelta(days=2), **common
    )
    new = m.PostCloseAdjustment.objects.create(
        month=OCT, external_id="b", recorded_at=now, **common
    )
    assert list(locks.post_close_adjustment_list()) == [new, old]
    assert list(locks.post_close_adjustment_list(month=SEPT)) == [old]
    assert list(locks.post_close_adjustment_list(since=now - dt.timedelta(days=1))) == [new]
    assert list(locks.post_close_adjustment_list(until=now)) == [old]


# --- flagging: the engine ------------------------------------------------------------------------


def test_nothing_is_flagged_without_a_lock(source):
    ingest(source, [line("gl-1")])
    ingest(source, [line("gl-1", amount="1300.00")])
    assert flagged() == []


def test_nothing_is_flagged_for_an_unlocked_month(source):
    locks.period_lock(month=SEPT)
    ingest(source, [line("gl-1")])  # October
    ingest(source, [line("gl-1", amount="1300.00")])
    assert flagged() == []


def test_a_change_to_a_locked_month_is_stored_and_flagged(source, superuser):
    ingest(source, [line("gl-1"), line("gl-2", posting_date="2026-11-02")])
    locks.period_lock(month=OCT)
    result = ingest(
        source,
        [
            line("gl-1", amount="1250.00"),  # updated, October: flagged
            line("gl-2", posting_date="2026-11-02", amount="9.00"),  # November: not flagged
            line("gl-3", posting_date="2026-10-15", amount="-20.00"),  # created in October
        ],
        via="admin",
        user=superuser,
    )
    # Nothing is lost: the rows are written as without a lock.
    assert (result.created, result.updated) == (1, 2)
    assert m.GLLine.objects.get(external_id="gl-1").amount == Decimal("1250.00")
    assert m.GLLine.objects.get(external_id="gl-3").amount == Decimal("-20.00")
    assert flagged() == [
        (OCT, "gl_lines", "gl-1", "updated", "admin"),
        (OCT, "gl_lines", "gl-3", "created", "admin"),
    ]
    first = m.PostCloseAdjustment.objects.get(external_id="gl-1")
    assert first.summary == "gl_lines gl-1 updated: posting_date 2026-10-31, amount 1250.00 EUR"
    assert (first.source, first.user, first.batch_id) == (source, superuser, result.batch_id)


def test_an_unchanged_resend_is_not_flagged(source):
    ingest(source, [line("gl-1")])
    locks.period_lock(month=OCT)
    result = ingest(source, [line("gl-1")])
    assert result.unchanged == 1
    assert flagged() == []


def test_moving_a_line_out_of_a_locked_month_adjusts_that_month(source):
    ingest(source, [line("gl-1", posting_date="2026-09-30")])
    locks.period_lock(month=SEPT)
    locks.period_lock(month=OCT)
    ingest(source, [line("gl-1", posting_date="2026-11-02")])
    adjustment = m.PostCloseAdjustment.objects.get()
    assert (adjustment.month, adjustment.outcome) == (SEPT, "updated")
    assert adjustment.summary == (
        "gl_lines gl-1 updated: posting_date 2026-09-30 -> 2026-11-02, amount 1200.00 EUR"
    )
    assert m.GLLine.objects.get().posting_date == dt.date(2026, 11, 2)


def test_moving_a_line_between_two_locked_months_adjusts_both(source):
    ingest(source, [line("gl-1", posting_date="2026-09-30")])
    locks.period_lock(month=SEPT)
    locks.period_lock(month=OCT)
    ingest(source, [line("gl-1", posting_date="2026-10-01")])
    assert [row[0] for row in flagged()] == [SEPT, OCT]


def test_a_dry_run_flags_nothing(source):
    locks.period_lock(month=OCT)
    result = ingest(source, [line("gl-1")], dry_run=True)
    assert result.created == 1
    assert flagged() == []
    assert not m.GLLine.objects.exists()


def test_entities_without_a_period_are_never_flagged(source):
    locks.period_lock(month=OCT)
    ingest_records(
        source=source,
        entity="fx_rates",
        records=[{"external_id": "fx-1", "currency": "USD", "date": "2026-10-05", "rate": "0.9"}],
        actor=Actor(),
    )
    assert flagged() == []


def test_a_date_time_period_counts_in_its_utc_month(source):
    locks.period_lock(month=OCT)
    deal = {
        "external_id": "d-1",
        "amount": "500.00",
        "currency": "EUR",
        "status": "won",
        "created_at": "2026-10-01T09:00:00Z",
        # 1 November 00:30 in Paris is still 31 October in UTC.
        "closed_at": "2026-11-01T00:30:00+01:00",
    }
    ingest_records(source=source, entity="deals", records=[deal], actor=Actor())
    adjustment = m.PostCloseAdjustment.objects.get()
    assert (adjustment.month, adjustment.entity) == (OCT, "deals")
    assert adjustment.summary == (
        "deals d-1 created: closed_at 2026-10-31T23:30:00Z, amount 500.00 EUR"
    )


def test_a_long_summary_is_cut_to_300_characters(source):
    locks.period_lock(month=OCT)
    spec = ENTITIES["gl_lines"]
    text = flagging._summary(spec, "x" * 400, "created", dt.date(2026, 10, 1), None, {})
    assert len(text) == 300
    assert text.endswith("…")


# --- flagging: every write path ------------------------------------------------------------------


def test_api_push_is_flagged(client):
    token, plaintext = make_token()
    url = "/api/v1/ingest/gl_lines/"
    assert post_json(client, url, [line("gl-1")], token=plaintext).status_code == 201
    locks.period_lock(month=OCT)
    response = post_json(client, url, [line("gl-1", amount="99.00")], token=plaintext)
    assert response.status_code == 200, response.json()
    adjustment = m.PostCloseAdjustment.objects.get()
    assert (adjustment.month, adjustment.via, adjustment.source) == (OCT, "api", token.connector)
    assert adjustment.batch_id == response.json()["batch_id"]
    assert m.GLLine.objects.get().amount == Decimal("99.00")


def test_webhook_is_flagged(client):
    connector = ConnectorFactory(name="Billing", kind="billing")
    secret = connector_webhook_secret_rotate(connector=connector)
    locks.period_lock(month=OCT)
    payload = {
        "id": "evt_1",
        "type": "subscription_events",
        "data": [
            {
                "external_id": "sub-1",
                "customer": "cus-1",
                "occurred_on": "2026-10-05",
                "type": "new",
                "mrr_after": "99.90",
                "currency": "EUR",
            }
        ],
    }
    body = json.dumps(payload).encode()
    response = client.post(
        f"/api/v1/webhooks/{connector.slug}/",
        data=body,
        content_type="application/json",
        HTTP_X_FINHUB_SIGNATURE=signature_header(secret=secret, body=body),
    )
    assert response.status_code == 200, response.json()
    adjustment = m.PostCloseAdjustment.objects.get()
    assert (adjustment.month, adjustment.entity, adjustment.via, adjustment.outcome) == (
        OCT,
        "subscription_events",
        "webhook",
        "created",
    )
    assert adjustment.summary == (
        "subscription_events sub-1 created: occurred_on 2026-10-05, mrr_after 99.90 EUR"
    )


def test_sync_upserts_and_soft_deletes_are_flagged(source):
    ingest(source, [line("gl-1"), line("gl-2"), line("gl-3", posting_date="2026-11-03")])
    locks.period_lock(month=OCT)
    ingest(source, [line("gl-1", amount="1.00")], via="sync")
    deleted = records_soft_delete(
        source=source,
        entity="gl_lines",
        deletions={"gl-2": None, "gl-3": None},
        actor=Actor(via="sync"),
    )
    assert deleted == 2
    assert flagged() == [
        (OCT, "gl_lines", "gl-1", "updated", "sync"),
        (OCT, "gl_lines", "gl-2", "deleted", "sync"),  # gl-3 is November's
    ]
    gone = m.PostCloseAdjustment.objects.get(external_id="gl-2")
    assert gone.summary == "gl_lines gl-2 deleted: posting_date 2026-10-31, amount 1200.00 EUR"
    assert gone.batch_id == m.GLLine.all_objects.get(external_id="gl-2").last_batch_id


def test_a_full_refresh_deleting_unseen_records_is_flagged(source):
    ingest(source, [line("gl-1"), line("gl-2")])
    locks.period_lock(month=OCT)
    records_soft_delete_unseen(
        source=source, entity="gl_lines", seen={"gl-1"}, actor=Actor(via="sync")
    )
    assert flagged() == [(OCT, "gl_lines", "gl-2", "deleted", "sync")]


def test_records_delete_is_flagged(source, superuser):
    ingest(source, [line("gl-1"), line("gl-2", posting_date="2026-11-03")])
    locks.period_lock(month=OCT)
    records_delete(
        queryset=m.GLLine.objects.filter(source=source), actor=Actor(user=superuser, via="admin")
    )
    assert not m.GLLine.objects.exists()
    adjustment = m.PostCloseAdjustment.objects.get()
    assert (adjustment.month, adjustment.external_id, adjustment.outcome) == (
        OCT,
        "gl-1",
        "deleted",
    )
    assert adjustment.user == superuser
    batch = m.IngestBatch.objects.get(pk=adjustment.batch_id)
    assert batch.deleted_external_ids == ["gl-1", "gl-2"]


def test_admin_save_and_delete_are_flagged(client, superuser, source):
    client.force_login(superuser)
    ingest(source, [line("gl-1")])
    locks.period_lock(month=OCT)
    gl = m.GLLine.objects.get()
    url = reverse("admin:records_glline_change", args=[gl.pk])
    form = client.get(url).context["adminform"].form
    data = {k: v for k, v in form.initial.items() if v is not None and k in form.fields}
    data.update({"amount": "-12.34", "currency": "EUR"})
    response = client.post(url, data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    response = client.post(reverse("admin:records_glline_delete", args=[gl.pk]), {"post": "yes"})
    assert response.status_code == 302
    assert flagged() == [
        (OCT, "gl_lines", "gl-1", "updated", "admin"),
        (OCT, "gl_lines", "gl-1", "deleted", "admin"),
    ]
    assert set(m.PostCloseAdjustment.objects.values_list("user", flat=True)) == {superuser.pk}


def test_import_is_flagged_on_confirm_not_on_preview(client, superuser, source):
    import csv
    import io

    client.force_login(superuser)
    locks.period_lock(month=OCT)
    buffer = io.StringIO()
    csv.writer(buffer).writerows(
        [
            ["external_id", "account", "posting_date", "amount", "currency"],
            ["gl-1", "4000", "2026-10-20", "10.00", "EUR"],
        ]
    )
    upload = io.BytesIO(buffer.getvalue().encode())
    upload.name = "lines.csv"
    response = client.post(
        reverse("admin:records_glline_import"),
        {"import_file": upload, "format": "0", "resource": "0", "source": source.pk},
    )
    assert response.status_code == 200
    assert flagged() == []  # the preview is a dry run
    confirm = response.context["confirm_form"]
    response = client.post(reverse("admin:records_glline_process_import"), confirm.initial)
    assert response.status_code == 302
    assert flagged() == [(OCT, "gl_lines", "gl-1", "created", "import")]
    assert m.PostCloseAdjustment.objects.get().user == superuser


def test_reprocessed_rejects_are_flagged(source):
    from records.ingestion.services import rejected_reprocess

    m.Currency.objects.filter(code="NZD").update(active=False)
    ingest(source, [line("gl-1", currency="NZD")])
    locks.period_lock(month=OCT)
    m.Currency.objects.filter(code="NZD").update(active=True)
    rejected_reprocess(
        rejected_ids=list(m.RejectedRecord.objects.values_list("pk", flat=True)), actor=Actor()
    )
    assert flagged() == [(OCT, "gl_lines", "gl-1", "created", "reprocess")]


# --- cost ----------------------------------------------------------------------------------------


def _queries(source, records, **kwargs) -> list[str]:
    with CaptureQueriesContext(connection) as captured:
        ingest(source, records, **kwargs)
    return [q["sql"] for q in captured.captured_queries]


def _touching(queries, table):
    return [sql for sql in queries if table in sql]


def test_a_batch_without_locks_costs_one_extra_query(source, monkeypatch):
    lock_table = m.PeriodLock._meta.db_table
    records = [line(f"gl-{n}") for n in range(20)]
    with_check = _queries(source, records)
    # The same batch again (updated), once with the lock check and once without it.
    changed = [line(f"gl-{n}", amount="5.00") for n in range(20)]
    monkeypatch.setattr("records.ingestion.services.lock_watch_start", lambda **kwargs: None)
    without = _queries(source, changed)
    monkeypatch.undo()
    again = _queries(source, [line(f"gl-{n}", amount="6.00") for n in range(20)])
    assert len(_touching(with_check, lock_table)) == 1
    assert len(again) == len(without) + 1
    assert _touching(again, m.PostCloseAdjustment._meta.db_table) == []


def test_a_batch_with_a_lock_costs_a_read_and_one_insert(source):
    ingest(source, [line(f"gl-{n}") for n in range(20)])
    before = _queries(source, [line(f"gl-{n}", amount="5.00") for n in range(20)])
    locks.period_lock(month=OCT)
    after = _queries(source, [line(f"gl-{n}", amount="6.00") for n in range(20)])
    # The stored dates read before the upsert, and one bulk insert of the 20 flags.
    assert len(after) == len(before) + 2
    assert len(_touching(after, m.PostCloseAdjustment._meta.db_table)) == 1
    assert m.PostCloseAdjustment.objects.count() == 20


def test_a_dry_run_spends_no_query_on_locks(source):
    locks.period_lock(month=OCT)
    queries = _queries(source, [line("gl-1")], dry_run=True)
    assert _touching(queries, m.PeriodLock._meta.db_table) == []


def test_the_entities_that_belong_to_a_month():
    periods = {name: spec.period_field for name, spec in ENTITIES.items() if spec.period_field}
    assert periods == {
        "gl_lines": "posting_date",
        "invoices": "issue_date",
        "budget_lines": "month",
        "campaign_spend": "date",
        "touchpoints": "occurred_at",
        "quotas": "period_start",
        "deals": "closed_at",
        "subscription_events": "occurred_on",
        "initiative_costs": "date",
        "initiative_benefits": "date",
    }
