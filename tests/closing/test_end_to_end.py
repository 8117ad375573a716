"""A month-end close end to end from the default template, against the sandbox source over
real HTTP: the automated tasks run in order (sync, freshness, reconciliation, recompute, the
pack delivered by e-mail, the lock), a failing reconciliation stops its dependants, and the
lock flags a later change on the close page."""

import datetime as dt
from decimal import Decimal

import pytest
from django.core import mail

from closing import services
from closing.models import CloseTemplate
from connectors.models import SyncRun
from records.ingestion.services import Actor, ingest_records
from records.locks import period_is_locked, post_close_adjustment_list
from reports.models import ArchivedReport, ReportDelivery
from roadmap.models import Measurement
from tests.closing.test_services import run_queued, statuses
from tests.connectors.sync.helpers import sandbox_connector
from tests.factories import ConnectorFactory, SuccessMetricFactory

pytestmark = pytest.mark.django_db

SEPT = dt.date(2026, 9, 1)  # the sandbox's data runs to October 2026
ERP_LEDGER = ("departments", "accounts", "gl_lines")


@pytest.fixture
def scorecard(db):
    return {
        "accuracy": SuccessMetricFactory(key="data_sync_accuracy", target_value=Decimal("99.9")),
        "reporting": SuccessMetricFactory(
            key="reporting_time_reduction", target_value=Decimal("40"), baseline=Decimal("200")
        ),
    }


@pytest.fixture
def small_pack():
    """The migration's "Month-end pack", cut to two reports to keep the PDF quick."""
    pack = CloseTemplate.objects.get(is_default=True).pack
    keep = list(pack.items.order_by("order").values_list("pk", flat=True)[:2])
    pack.items.exclude(pk__in=keep).delete()
    return pack


def open_close(user, capture):
    template = CloseTemplate.objects.get(is_default=True)
    with capture(execute=True):
        return services.close_create(month=SEPT, template=template, user=user)


def test_a_close_runs_end_to_end_and_the_lock_flags_a_later_change(
    sandbox,
    scorecard,
    small_pack,
    finance_viewer,
    superuser,
    close_queue,
    django_capture_on_commit_callbacks,
    client,
):
    erp = sandbox_connector(sandbox, "erp", entities=ERP_LEDGER, page_size=200)
    close = open_close(finance_viewer, django_capture_on_commit_callbacks)
    assert statuses(close)["review"] == "ready"

    # The automated chain runs up to the manual review, which recompute waits for.
    ran = run_queued(close_queue, django_capture_on_commit_callbacks)
    assert ran == ["sync", "freshness", "reconcile"]
    assert statuses(close)["recompute"] == "waiting"
    run = SyncRun.objects.get(connector=erp)
    assert run.status == "succeeded" and run.reconciliation_matched_pct == 100
    reconcile = close.tasks.get(key="reconcile")
    assert reconcile.result["target"] == "99.9000"
    assert reconcile.result["differences"] == []
    assert reconcile.result["sources"][0]["accuracy"] == "100.00"

    with django_capture_on_commit_callbacks(execute=True):
        services.close_task_complete(task=close.tasks.get(key="review"), user=finance_viewer)
    ran = run_queued(close_queue, django_capture_on_commit_callbacks)
    assert ran == ["recompute", "deliver", "lock"]

    close.refresh_from_db()
    assert set(statuses(close).values()) == {"done"}, {
        t.key: t.detail for t in close.tasks.exclude(status="done")
    }
    assert close.status == "done" and close.finished_at is not None
    # The pack went to the Finance viewer group: one e-mail, archived with trigger "close".
    [delivery] = ReportDelivery.objects.all()
    assert delivery.status == "sent" and delivery.group.name == "Finance viewer"
    assert len(mail.outbox) == 1 and mail.outbox[0].to == [finance_viewer.email]
    assert ArchivedReport.objects.filter(trigger="close", pack=small_pack).exists()
    assert close.pack_delivered_at == delivery.sent_at
    # The reporting-time measurement: one close, hours from 1 Oct 00:00 to the delivery.
    hours = services.selectors.hours_to_pack(close)
    measured = Measurement.objects.get(metric__key="reporting_time_reduction")
    assert measured.source == "auto:close_reporting_time" and measured.period == "2026-09"
    assert measured.value == ((1 - hours / Decimal(200)) * 100).quantize(Decimal("0.01"))
    # The period is locked by the close.
    assert period_is_locked(month=SEPT) and close.locked_at is not None

    # A change to September after the lock is stored and flagged.
    journal = ConnectorFactory(name="Manual journal")
    result = ingest_records(
        source=journal,
        entity="gl_lines",
        records=[
            {
                "external_id": "late-accrual-1",
                "account": "4000",
                "posting_date": "2026-09-28",
                "amount": "750.00",
                "currency": "EUR",
            }
        ],
        actor=Actor(user=superuser, via="api"),
    )
    assert result.created == 1
    [adjustment] = post_close_adjustment_list(month=SEPT)
    assert adjustment.external_id == "late-accrual-1" and adjustment.outcome == "created"

    client.force_login(finance_viewer)
    page = client.get(f"/close/{close.pk}/").content.decode()
    adjustments = page.split('id="adjustments"')[1].split("</table>")[0]
    assert "late-accrual-1" in adjustments and "Manual journal" in adjustments
    assert "Locked" in page.split('id="lock-state"')[1].split("</dd>")[0]
    assert "ticked by fiona" in page


def test_a_failing_reconciliation_stops_its_dependants(
    sandbox, scorecard, finance_viewer, close_queue, django_capture_on_commit_callbacks, client
):
    crm = sandbox_connector(sandbox, "crm", page_size=25)
    # Two quotas of each page are unreadable: rejected, so FinHub's totals miss them.
    sandbox.faults([{"fault": "invalid_rows", "path": "/crm/v1/quotas", "rows": 2}])
    close = open_close(finance_viewer, django_capture_on_commit_callbacks)
    with django_capture_on_commit_callbacks(execute=True):
        services.close_task_complete(task=close.tasks.get(key="review"), user=finance_viewer)
    ran = run_queued(close_queue, django_capture_on_commit_callbacks)
    assert ran == ["sync", "freshness", "reconcile"]

    close.refresh_from_db()
    assert close.status == "blocked"
    assert statuses(close) == {
        "sync": "done",
        "freshness": "done",
        "reconcile": "failed",
        "review": "done",
        "recompute": "waiting",
        "deliver": "waiting",
        "lock": "waiting",
    }
    reconcile = close.tasks.get(key="reconcile")
    run = SyncRun.objects.get(connector=crm)
    assert run.reconciliation_matched_pct < Decimal("99.9")
    assert reconcile.detail.startswith(
        f"Reconciliation below the 99.9000% target: {crm.name} {run.reconciliation_matched_pct}%"
    )
    differences = reconcile.result["differences"]
    assert differences and {d["entity"] for d in differences} == {"quotas"}
    assert all(d["finhub_count"] < d["source_count"] for d in differences)
    assert reconcile.result["differences_total"] == len(differences)
    assert not period_is_locked(month=SEPT) and not ReportDelivery.objects.exists()

    client.force_login(finance_viewer)
    page = client.get(f"/close/{close.pk}/").content.decode()
    row = page.split('data-task="lock" data-status="waiting"')[1].split("</tr>")[0]
    assert "Blocked by the failure of Reconcile with the sources" in row
    assert 'id="close-status">Blocked by a failed task' in page
    assert "differing bucket" in page


def test_a_sync_already_queued_is_run_by_the_close_not_doubled(sandbox, scorecard):
    from closing.actions import sync_sources
    from connectors.sync.runs import sync_request

    erp = sandbox_connector(sandbox, "erp", entities=ERP_LEDGER, page_size=200)
    queued = sync_request(erp, trigger="schedule", enqueue=False)  # e.g. a first demo sync
    outcome = sync_sources(None)
    assert outcome.result["runs"] == [
        {
            "connector": erp.name,
            "run": queued.pk,
            "status": "succeeded",
            "message": SyncRun.objects.get(pk=queued.pk).message,
        }
    ]
    assert SyncRun.objects.filter(connector=erp).count() == 1


def test_a_source_that_cannot_sync_fails_the_task_naming_it(sandbox, scorecard):
    from closing.actions import CloseTaskFailed, sync_sources

    erp = sandbox_connector(sandbox, "erp", entities=ERP_LEDGER, page_size=200)
    sandbox.faults([{"fault": "unauthorized", "path": "/erp"}])
    with pytest.raises(CloseTaskFailed) as exc:
        sync_sources(None)
    assert exc.value.message.startswith(f"1 of 1 sources did not sync: {erp.name}: ")
    assert exc.value.result["runs"][0]["status"] == "failed"
