"""Two syncs of one connector at once, on real connections: one runs, one is skipped."""

import threading

import pytest
from django.db import connection

from connectors.models import SyncRun
from connectors.sync.engine import sync_run_execute
from tests.connectors.sync.helpers import assert_equals_source, sandbox_connector


def _two_at_once(sandbox):
    # serialized_rollback: a transactional test flushes the tables, the currencies seeded by
    # a migration included; the rollback restores them for the next one.
    connector = sandbox_connector(sandbox, "crm", page_size=50)
    # The winner's first request is slow, so the loser certainly finds the lease taken.
    sandbox.faults([{"fault": "slow", "path": "/crm/v1/teams", "times": 1, "seconds": 0.5}])
    runs = [SyncRun.objects.create(connector=connector, trigger="manual") for _ in range(2)]
    barrier = threading.Barrier(2)
    errors = []

    def go(run_id):
        try:
            barrier.wait()
            sync_run_execute(run_id)
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=go, args=(run.pk,)) for run in runs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors
    for run in runs:
        run.refresh_from_db()
    statuses = sorted(run.status for run in runs)
    assert statuses == ["skipped", "succeeded"], [(r.status, r.message) for r in runs]
    winner = next(r for r in runs if r.status == "succeeded")
    loser = next(r for r in runs if r.status == "skipped")
    assert loser.message.startswith(
        f"Skipped: run #{winner.pk} has held the connector's lock since "
    )
    assert loser.requests == 0 and loser.pages == 0
    connector.refresh_from_db()
    assert connector.lock_run_id is None
    assert_equals_source(sandbox, connector)


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_two_syncs_at_once_one_runs_one_is_skipped(sandbox):
    _two_at_once(sandbox)


@pytest.mark.services
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_two_syncs_at_once_one_runs_one_is_skipped_on_postgresql(sandbox):
    _two_at_once(sandbox)
