"""Pending references always end resolved (#17): the window in which two concurrent
transactions each miss the other's rows is closed after the commit, a re-send repairs a row
still pending, and a sweep (command and beat task) repairs anything left behind.

The concurrent interleavings themselves run on PostgreSQL in
tests/api/test_ingest_concurrency.py; here each interleaving is laid out step by step.
"""

import io
from unittest import mock

import pytest
from django.core.management import call_command
from django_celery_beat.models import PeriodicTask

from records.ingestion import upsert
from records.ingestion.services import Actor, ingest_records, pending_references_resolve
from records.models import Account, GLLine
from records.tasks import pending_references_resolve_all
from tests.factories import ConnectorFactory

pytestmark = pytest.mark.django_db


def account(ext: str) -> dict:
    return {"external_id": ext, "code": ext, "name": f"Account {ext}", "type": "expense"}


def line(ext: str, account_ext: str, amount: str = "10.00") -> dict:
    return {
        "external_id": ext,
        "account": account_ext,
        "posting_date": "2026-01-15",
        "amount": amount,
        "currency": "EUR",
    }


def ingest(source, entity: str, records: list[dict]):
    return ingest_records(source=source, entity=entity, records=records, actor=Actor())


def stored_account_ids(source) -> dict[str, int | None]:
    return dict(GLLine.objects.filter(source=source).values_list("external_id", "account_id"))


def pending_behind_an_existing_account(source) -> Account:
    """The state the race leaves: lines pending on an account that exists.

    The account is written straight to the table, as the concurrent transaction did
    while the lines' own transaction could not see it yet.
    """
    ingest(source, "gl_lines", [line("L1", "X1"), line("L2", "X1", "20.00")])
    assert set(stored_account_ids(source).values()) == {None}
    return Account.objects.create(
        source=source, external_id="X1", code="X1", name="x", type="expense"
    )


def test_resending_a_line_whose_reference_is_still_pending_repairs_it():
    source = ConnectorFactory()
    target = pending_behind_an_existing_account(source)

    result = ingest(source, "gl_lines", [line("L1", "X1")])

    assert (result.updated, result.unchanged) == (1, 0)  # not "unchanged": the row changed
    assert stored_account_ids(source)["L1"] == target.pk


def test_resending_the_account_repairs_the_lines_waiting_for_it(django_capture_on_commit_callbacks):
    source = ConnectorFactory()
    target = pending_behind_an_existing_account(source)

    with django_capture_on_commit_callbacks(execute=True):
        result = ingest(source, "accounts", [account("X1") | {"name": "x", "code": "X1"}])

    assert result.unchanged + result.updated == 1
    assert stored_account_ids(source) == {"L1": target.pk, "L2": target.pk}


def test_a_line_written_before_its_account_committed_is_resolved_after_its_own_commit(
    django_capture_on_commit_callbacks,
):
    source = ConnectorFactory()
    ingest(source, "accounts", [account("X1")])
    # The lines' transaction looks the account up before the accounts' transaction commits.
    with (
        mock.patch.object(upsert, "_lookup", return_value={}),
        django_capture_on_commit_callbacks(execute=True) as callbacks,
    ):
        ingest(source, "gl_lines", [line("L1", "X1"), line("L2", "X1")])
        assert set(stored_account_ids(source).values()) == {None}  # before the commit

    assert len(callbacks) == 1
    assert set(stored_account_ids(source).values()) == {Account.objects.get().pk}


def test_an_account_written_before_its_lines_committed_resolves_them_after_its_commit(
    django_capture_on_commit_callbacks,
):
    source = ConnectorFactory()
    ingest(source, "gl_lines", [line("L1", "X1")])
    # The accounts' transaction resolves pending lines before the lines' transaction commits.
    with (
        mock.patch("records.ingestion.services.resolve_pending", return_value=0),
        django_capture_on_commit_callbacks(execute=True),
    ):
        ingest(source, "accounts", [account("X1")])

    assert stored_account_ids(source) == {"L1": Account.objects.get().pk}


def test_nothing_is_settled_when_the_transaction_rolls_back(django_capture_on_commit_callbacks):
    source = ConnectorFactory()
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        ingest_records(
            source=source,
            entity="gl_lines",
            records=[line("L1", "X1")],
            actor=Actor(),
            dry_run=True,
        )
    assert callbacks == []


def test_references_resolve_to_the_earliest_connector_of_the_scope():
    crm, erp = ConnectorFactory(name="CRM"), ConnectorFactory(name="ERP")
    erp.reference_sources.add(crm)
    ingest(erp, "gl_lines", [line("L1", "X1"), line("L2", "X2")])
    theirs = Account.objects.create(
        source=crm, external_id="X1", code="1", name="c", type="expense"
    )
    crm_x2 = Account.objects.create(
        source=crm, external_id="X2", code="2", name="c", type="expense"
    )
    own_x2 = Account.objects.create(
        source=erp, external_id="X2", code="2", name="e", type="expense"
    )

    assert pending_references_resolve() == {("gl_lines", "account"): 2}

    assert stored_account_ids(erp) == {"L1": theirs.pk, "L2": own_x2.pk}
    assert crm_x2.pk != own_x2.pk


def test_the_command_reports_what_it_fixed_per_entity_and_field():
    source = ConnectorFactory()
    target = pending_behind_an_existing_account(source)
    ingest(source, "gl_lines", [line("L3", "NOPE")])  # its target does not exist: left alone

    dry = io.StringIO()
    call_command("references_resolve", "--dry-run", stdout=dry)
    assert "gl_lines.account: would resolve 2" in dry.getvalue()
    assert stored_account_ids(source)["L1"] is None

    out = io.StringIO()
    call_command("references_resolve", stdout=out)
    assert "gl_lines.account: resolved 2" in out.getvalue()
    assert "2 pending reference(s) resolved" in out.getvalue()
    assert stored_account_ids(source) == {"L1": target.pk, "L2": target.pk, "L3": None}

    again = io.StringIO()
    call_command("references_resolve", stdout=again)
    assert "No pending reference has an existing target." in again.getvalue()


def test_the_beat_task_resolves_and_reports():
    source = ConnectorFactory()
    pending_behind_an_existing_account(source)
    assert pending_references_resolve_all() == {"gl_lines.account": 2}
    assert pending_references_resolve_all() == {}


def test_the_sweep_is_scheduled_every_ten_minutes():
    task = PeriodicTask.objects.get(name="records: resolve pending references")
    assert task.task == "records.tasks.pending_references_resolve_all"
    assert task.interval.every == 600
