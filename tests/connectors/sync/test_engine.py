"""The sync engine over real HTTP against the sandbox source (issue #5's "done when")."""

import datetime as dt
import logging

import pytest

from connectors.models import Connector, ReconciliationResult, SyncState
from connectors.sync.runs import connector_resume
from records.models import GLLine, IngestBatch, Quota, RejectedRecord
from roadmap.models import Measurement
from tests.connectors.sync.helpers import (
    assert_equals_source,
    finhub_summary,
    run_sync,
    sandbox_connector,
    source_summary,
)

pytestmark = pytest.mark.django_db

ERP_LEDGER = ("departments", "accounts", "gl_lines")


def erp(sandbox, **kw):
    return sandbox_connector(sandbox, "erp", entities=ERP_LEDGER, page_size=100, **kw)


def crm(sandbox, **kw):
    return sandbox_connector(sandbox, "crm", page_size=25, **kw)


def test_first_sync_loads_everything_and_reconciles_100_percent(sandbox, scorecard):
    connector = erp(sandbox)
    sizes = [len(sandbox.live_rows("erp", r)) for r in ("departments", "accounts", "gl-lines")]
    run = run_sync(connector)
    assert run.status == "succeeded", run.message
    assert_equals_source(sandbox, connector)
    assert run.pages == sum(-(-n // 100) for n in sizes)  # 100 rows a page
    assert run.rows_read == run.rows_created == sum(sizes)
    assert run.rows_rejected == run.rows_deleted == run.request_failures == 0
    assert run.entity_stats["gl_lines"]["created"] == sizes[2]
    assert run.reconciliation_matched_pct == 100
    results = ReconciliationResult.objects.filter(run=run)
    assert results.filter(entity="gl_lines").count() == 24  # one bucket per month
    assert results.filter(matched=False).count() == 0
    assert run.message.startswith(
        f"Synced departments, accounts, gl_lines: {sum(sizes)} read, {sum(sizes)} created"
    )
    connector.refresh_from_db()
    assert connector.last_success_at is not None and connector.consecutive_failures == 0
    assert connector.lock_run_id is None
    state = SyncState.objects.get(connector=connector, entity="gl_lines")
    assert state.cursor["high_water_mark"] and state.run == run
    accuracy = Measurement.objects.get(metric__key="data_sync_accuracy")
    assert accuracy.value == 100 and accuracy.source == "auto:data_sync_accuracy"
    reliability = Measurement.objects.get(metric__key="api_reliability")
    assert reliability.value == 100 and reliability.source == "auto:connectors.api_reliability"
    batches = IngestBatch.objects.filter(source=connector, via="sync")
    assert set(batches.values_list("request_id", flat=True)) == {f"sync-run-{run.pk}"}


def test_an_incremental_sync_picks_up_changes_and_rewrites_nothing_else(sandbox):
    connector = erp(sandbox)
    run_sync(connector)
    before = dict(GLLine.objects.filter(source=connector).values_list("external_id", "updated_at"))
    mark = max(r["updated_at"] for r in sandbox.live_rows("erp", "gl-lines"))
    at_mark = sum(1 for r in sandbox.live_rows("erp", "gl-lines") if r["updated_at"] == mark)
    changed = sandbox.mutate("erp", "gl-lines", update=3, create=2, delete=1)

    run = run_sync(connector)
    assert run.status == "succeeded", run.message
    assert_equals_source(sandbox, connector)
    gl = run.entity_stats["gl_lines"]
    assert (gl["updated"], gl["created"], gl["deleted"]) == (3, 2, 1)
    # Only the records at the (inclusive) high-water mark were read again, unchanged.
    assert gl["unchanged"] <= at_mark
    assert gl["read"] <= at_mark + 3 + 2 + 1
    assert run.entity_stats["accounts"]["created"] == run.entity_stats["accounts"]["updated"] == 0
    after = dict(GLLine.objects.filter(source=connector).values_list("external_id", "updated_at"))
    touched = {ext for ext in after if before.get(ext) != after[ext]}
    assert touched == set(changed["updated"]) | set(changed["created"])
    assert run.reconciliation_matched_pct == 100


def test_transient_faults_are_retried_and_the_database_equals_the_source(sandbox, settings):
    settings.FINHUB_SYNC_TIMEOUT_SECONDS = 0.3
    # Several rules can fire in a row on one request: enough attempts to outlast them.
    settings.FINHUB_SYNC_MAX_ATTEMPTS = 10
    connector = erp(sandbox)
    sandbox.faults(
        [
            {"fault": "http_500", "path": "/erp/v1/gl-lines", "every": 3},
            {"fault": "http_503", "path": "/erp/v1/accounts", "times": 2},
            {"fault": "http_429", "path": "/erp/v1/gl-lines", "every": 4, "retry_after": 0},
            {"fault": "timeout", "path": "/erp/v1/gl-lines", "times": 2, "seconds": 1},
            {"fault": "drop", "path": "/erp/v1/departments", "times": 2},
            {"fault": "drop", "path": "/erp/v1/gl-lines", "every": 5},
            {"fault": "html", "path": "/erp/v1/control-totals", "times": 1},
            {"fault": "truncate", "path": "/erp/v1/gl-lines", "times": 1},
        ]
    )
    run = run_sync(connector)
    assert run.status == "succeeded", run.message
    fired = sandbox.stats()["faults_fired"]
    assert {"http_500", "http_503", "http_429", "timeout", "drop", "html", "truncate"} <= set(fired)
    # Every fault that fired failed one attempt (a busy machine may time out one more).
    assert run.request_failures >= sum(fired.values())
    assert run.requests > run.request_failures
    assert_equals_source(sandbox, connector)
    for entity in ERP_LEDGER:
        assert finhub_summary(connector, entity) == source_summary(sandbox, connector, entity)
    assert run.reconciliation_matched_pct == 100


def test_a_persistently_truncated_body_fails_the_run_clearly(sandbox, settings):
    settings.FINHUB_SYNC_MAX_ATTEMPTS = 3
    connector = crm(sandbox)
    sandbox.faults([{"fault": "truncate", "path": "/crm/v1/teams"}])
    run = run_sync(connector)
    assert run.status == "failed"
    assert (
        "GET /crm/v1/teams: the source answered 200 with malformed or truncated JSON"
        in (run.message)
        or "GET /crm/v1/teams: connection failed" in run.message
    )
    assert run.message.endswith("Gave up after 3 attempts.")
    assert run.requests == run.request_failures == 3
    assert "\n" not in run.message and "Traceback" in run.traceback
    assert run.rows_read == 0


def test_invalid_rows_are_rejected_with_reasons_and_the_rest_loads(sandbox):
    connector = crm(sandbox)
    sandbox.faults([{"fault": "invalid_rows", "path": "/crm/v1/quotas", "rows": 2}])
    run = run_sync(connector)
    assert run.status == "succeeded", run.message
    broken = set(sandbox.stats()["invalid_row_ids"])
    quota_pages = run.entity_stats["quotas"]["pages"]
    assert len(broken) == 2 * quota_pages
    rejected = RejectedRecord.objects.filter(source=connector, entity="quotas")
    assert set(rejected.values_list("external_id", flat=True)) == broken
    assert run.rows_rejected == len(broken)
    reasons = {str(r.errors) for r in rejected}
    assert all("amount" in reason for reason in reasons)
    assert any("not-a-number" in reason for reason in reasons)  # names the value
    loaded = set(Quota.objects.filter(source=connector).values_list("external_id", flat=True))
    source_ids = {r["external_id"] for r in sandbox.live_rows("crm", "quotas")}
    assert loaded == source_ids - broken
    assert run.reconciliation_matched_pct < 100  # the rejected quotas are missing


def test_duplicate_rows_across_pages_are_not_double_counted(sandbox):
    connector = crm(sandbox)
    sandbox.faults([{"fault": "duplicate_rows", "path": "/crm/v1/"}])
    run = run_sync(connector)
    assert run.status == "succeeded", run.message
    assert run.rows_read > run.rows_created
    assert run.rows_created == sum(
        len(sandbox.live_rows("crm", r)) for r in ("teams", "reps", "quotas", "deals")
    )
    assert_equals_source(sandbox, connector)
    assert run.reconciliation_matched_pct == 100


@pytest.mark.parametrize("system", ["crm", "product"])  # cursor and page pagination
def test_a_stuck_cursor_aborts_the_run(sandbox, system):
    connector = sandbox_connector(
        sandbox, system, page_size=3
    )  # a first resource with several pages
    first = connector.sync_config["entities"][0]["resource"]
    sandbox.faults([{"fault": "stuck_cursor", "path": f"/{system}/v1/{first}"}])
    run = run_sync(connector)
    assert run.status == "failed"
    assert (
        "does not advance" in run.message
        or "same page twice" in run.message
        or ("the source answered page" in run.message)
    )
    assert "the run was aborted" in run.message
    assert run.requests < 10


def test_deletions_become_soft_deletes_and_leave_reconciliation(sandbox):
    connector = erp(sandbox)
    run_sync(connector)
    gone = sandbox.mutate("erp", "gl-lines", delete=4)["deleted"]
    run = run_sync(connector)
    assert run.rows_deleted == 4
    assert not GLLine.objects.filter(source=connector, external_id__in=gone).exists()
    deleted = GLLine.all_objects.filter(source=connector, external_id__in=gone)
    assert deleted.count() == 4 and all(r.deleted_at for r in deleted)
    assert_equals_source(sandbox, connector)
    assert run.reconciliation_matched_pct == 100


def test_a_full_refresh_soft_deletes_what_the_source_no_longer_lists(sandbox):
    connector = crm(sandbox)
    run_sync(connector)
    # A record FinHub holds that the source never had (or purged without a tombstone).
    stray = Quota.objects.filter(source=connector).first()
    Quota.objects.filter(pk=stray.pk).update(external_id="Q-STRAY")
    run = run_sync(connector, mode="full_refresh")
    assert run.status == "succeeded", run.message
    assert run.entity_stats["quotas"]["deleted"] == 1
    assert run.entity_stats["quotas"]["created"] == 1  # the renamed one came back
    assert Quota.all_objects.get(external_id="Q-STRAY").deleted_at is not None
    assert_equals_source(sandbox, connector)


def test_a_backfill_reads_from_its_date(sandbox):
    connector = crm(sandbox)
    run_sync(connector)
    rows = [
        r for res in ("teams", "reps", "quotas", "deals") for r in sandbox.live_rows("crm", res)
    ]
    since = sorted(r["updated_at"] for r in rows)[len(rows) // 2].date()
    midnight = dt.datetime.combine(since, dt.time(0), tzinfo=dt.UTC)
    expected = sum(1 for r in rows if r["updated_at"] >= midnight)
    run = run_sync(connector, mode="backfill", backfill_from=since)
    assert run.status == "succeeded", run.message
    # Everything changed since that date is read again (and found unchanged), nothing older.
    assert 0 < run.rows_read == run.rows_unchanged == expected < len(rows)


def test_a_crash_after_page_k_resumes_from_the_committed_state(sandbox):
    connector = erp(sandbox)
    total = len(sandbox.live_rows("erp", "gl-lines"))

    class Crash(Exception):
        pass

    def crash(ctx, entity, number):
        if entity == "gl_lines" and number == 3:
            raise Crash("worker died")

    crashed = run_sync(connector, after_page=crash)
    assert crashed.status == "failed" and "Crash: worker died" in crashed.message
    assert GLLine.objects.filter(source=connector).count() == 300  # 3 committed pages
    state = SyncState.objects.get(connector=connector, entity="gl_lines").cursor
    assert state["pages"] == 3
    mark = state["high_water_mark"]
    committed = set(GLLine.objects.filter(source=connector).values_list("external_id", flat=True))
    at_mark = sum(
        1
        for r in sandbox.live_rows("erp", "gl-lines")
        if r["external_id"] in committed and r["updated_at"].isoformat()[:19] == mark[:19]
    )

    resumed = run_sync(connector)
    assert resumed.status == "succeeded", resumed.message
    gl = resumed.entity_stats["gl_lines"]
    assert gl["created"] == total - 300
    # Only the committed rows sharing the high-water mark's timestamp were read again.
    assert gl["unchanged"] == at_mark
    assert gl["read"] == total - 300 + at_mark
    assert_equals_source(sandbox, connector)
    assert resumed.reconciliation_matched_pct == 100


def test_a_refused_credential_fails_fast_and_pauses(sandbox):
    connector = crm(sandbox)
    sandbox.faults([{"fault": "unauthorized", "path": "/crm/v1/"}])
    run = run_sync(connector)
    assert run.status == "failed"
    assert run.requests == 1 and run.request_failures == 1  # no retry storm
    assert "refused the credentials (HTTP 401)" in run.message
    connector.refresh_from_db()
    assert connector.paused_at is not None
    assert connector.pause_reason.startswith("The source refused the credentials (HTTP 401)")
    assert sandbox.stats()["requests_total"] == 1

    # Paused: the next runs (scheduled or manual) are skipped without calling the source.
    for trigger in ("schedule", "manual"):
        skipped = run_sync(connector, trigger=trigger)
        assert skipped.status == "skipped"
        assert skipped.message.startswith("paused: The source refused the credentials")
    assert sandbox.stats()["requests_total"] == 1

    sandbox.clear_faults()
    connector_resume(connector)
    assert run_sync(connector).status == "succeeded"


def test_the_circuit_breaker_pauses_after_n_failed_runs(sandbox, settings):
    settings.FINHUB_CONNECTOR_MAX_FAILURES = 3
    settings.FINHUB_SYNC_MAX_ATTEMPTS = 2
    connector = crm(sandbox)
    sandbox.faults([{"fault": "http_500", "path": "/crm/v1/"}])
    for failures in (1, 2):
        assert run_sync(connector).status == "failed"
        connector.refresh_from_db()
        assert connector.consecutive_failures == failures and connector.paused_at is None
    assert run_sync(connector).status == "failed"
    connector.refresh_from_db()
    assert connector.paused_at is not None
    assert connector.pause_reason.startswith("Paused after 3 failed runs in a row; last error:")
    assert "HTTP 500" in connector.pause_reason
    assert run_sync(connector, trigger="schedule").status == "skipped"


def test_a_success_resets_the_failure_count(sandbox):
    connector = crm(sandbox)
    Connector.objects.filter(pk=connector.pk).update(consecutive_failures=2)
    assert run_sync(connector).status == "succeeded"
    connector.refresh_from_db()
    assert connector.consecutive_failures == 0


def test_a_disabled_connector_is_skipped(sandbox):
    connector = crm(sandbox, enabled=False)
    run = run_sync(connector, trigger="schedule")
    assert run.status == "skipped" and run.message.startswith("disabled:")
    assert sandbox.stats()["requests_total"] == 0


def test_a_claimed_or_finished_run_is_not_executed_again(sandbox):
    from connectors.sync.engine import sync_run_execute

    connector = crm(sandbox)
    run = run_sync(connector)
    requests = sandbox.stats()["requests_total"]
    again = sync_run_execute(run.pk)  # a redelivered message
    assert again.status == "succeeded" and again.finished_at == run.finished_at
    assert sandbox.stats()["requests_total"] == requests


def test_no_secret_appears_in_any_log_line(sandbox, caplog, settings):
    settings.FINHUB_SYNC_MAX_ATTEMPTS = 2
    secrets = [
        "sandbox-erp-secret",
        "sandbox-crm-token",
        "sandbox-budget-pass",
        "sandbox-product-key",
    ]
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.DEBUG, logger="httpx")  # quieter by default (settings.LOGGING)
    erp_connector = erp(sandbox)
    sandbox.faults(
        [
            {"fault": "http_500", "path": "/erp/v1/gl-lines", "times": 1},
            {"fault": "drop", "path": "/erp/oauth/token", "times": 1},
        ]
    )
    assert run_sync(erp_connector).status == "succeeded"
    sandbox.expire_tokens()  # the next call gets a 401, refreshes the token once
    assert run_sync(erp_connector).status == "succeeded"
    for system in ("crm", "budget", "product"):
        connector = sandbox_connector(sandbox, system, page_size=200)
        sandbox.faults([{"fault": "unauthorized", "path": f"/{system}/v1/"}])
        failed = run_sync(connector)
        assert failed.status == "failed"
        for secret in secrets:
            assert secret not in failed.message and secret not in failed.traceback
    text = "\n".join(f"{r.getMessage()} {r.args!r} {r.exc_text or ''}" for r in caplog.records)
    assert "HTTP Request: GET" in text  # httpx did log at INFO, and we captured it
    for secret in secrets:
        assert secret not in text
    assert "Authorization" not in text and "Bearer " not in text and "Basic " not in text
