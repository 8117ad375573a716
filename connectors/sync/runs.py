"""A connector's syncs from the outside: request a run, pause and resume the connector, reset
where its syncs stand, and record how a run ended — including the one circuit breaker.

The run row is the truth (see ``sync_request``); the engine (engine.py) executes a run, the
reaper (reaper.py) gives up on one whose worker was lost. Both end a failed run through
``sync_run_fail``: the connector's consecutive failures grow, and it is paused at
``FINHUB_CONNECTOR_MAX_FAILURES`` in a row, or at once when the failure says so (the source
refused the credentials). A success resets the count (``sync_run_finish`` + the engine).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from connectors.models import Connector, SyncRun, SyncState


def sync_request(
    connector: Connector,
    *,
    trigger: str,
    mode: str = SyncRun.Mode.INCREMENTAL,
    backfill_from: dt.date | None = None,
    entities: Iterable[str] = (),
    user: Any = None,
    resumed_from: SyncRun | None = None,
    enqueue: bool = True,
) -> SyncRun:
    """Record a queued SyncRun and enqueue its task once the transaction commits
    (``enqueue=False``: the caller executes it itself, e.g. the schedule's own task).

    The run row is the truth: if the message is lost, the run stays queued and visible;
    if it is delivered twice, the second delivery finds the run claimed and does nothing.
    """
    if mode not in SyncRun.Mode.values:
        raise ValueError(f"Unknown sync mode {mode!r}.")
    if trigger not in SyncRun.Trigger.values:
        raise ValueError(f"Unknown sync trigger {trigger!r}.")
    if mode == SyncRun.Mode.BACKFILL and backfill_from is None:
        raise ValueError("A backfill needs backfill_from (the date to read from).")
    run = SyncRun.objects.create(
        connector=connector,
        trigger=trigger,
        mode=mode,
        backfill_from=backfill_from if mode == SyncRun.Mode.BACKFILL else None,
        entities=list(entities or []),
        requested_by=user if getattr(user, "is_authenticated", False) else None,
        resumed_from=resumed_from,
    )
    if enqueue:
        transaction.on_commit(lambda: _enqueue(run.pk))
    return run


def _enqueue(run_id: int) -> None:
    from connectors.tasks import sync_connector  # the task module imports the engine

    result = sync_connector.delay(run_id=run_id)
    SyncRun.objects.filter(pk=run_id, celery_task_id="").update(celery_task_id=result.id or "")


def sync_state_reset(connector: Connector, entities: Iterable[str] = ()) -> int:
    """Forget where the incremental sync stands (all entities, or the named ones): the next
    incremental run reads everything again. Returns how many states were reset."""
    states = SyncState.objects.filter(connector=connector)
    if entities:
        states = states.filter(entity__in=list(entities))
    deleted, _ = states.delete()
    return deleted


def connector_pause(connector: Connector, reason: str) -> bool:
    """Pause the connector's syncs (scheduled and manual) with a reason shown to admins.
    Returns False when it was already paused (the first reason is kept)."""
    now = timezone.now()
    reason = " ".join(str(reason).split())[:500] or "Paused by an admin."
    changed = Connector.objects.filter(pk=connector.pk, paused_at__isnull=True).update(
        paused_at=now, pause_reason=reason, updated_at=now
    )
    connector.refresh_from_db(fields=["paused_at", "pause_reason"])
    return changed == 1


def connector_resume(connector: Connector) -> bool:
    """Resume a paused connector and give it a fresh circuit breaker. Returns False when it
    was not paused."""
    now = timezone.now()
    changed = Connector.objects.filter(pk=connector.pk, paused_at__isnull=False).update(
        paused_at=None, pause_reason="", consecutive_failures=0, updated_at=now
    )
    connector.refresh_from_db(fields=["paused_at", "pause_reason", "consecutive_failures"])
    return changed == 1


# --- how a run ended -------------------------------------------------------------------------


def sync_run_finish(
    run: SyncRun,
    *,
    status: str,
    message: str,
    only_if: dict[str, Any] | None = None,
    **fields: Any,
) -> bool:
    """End the running run ``run`` with ``status`` and ``message`` (and ``fields``, which
    may set ``finished_at`` too). The update is conditional — the run is still running (and
    matches ``only_if``) — so of two paths ending one run (its worker, the reaper) only the
    first is recorded. Returns whether this one was."""
    updated = SyncRun.objects.filter(
        pk=run.pk, status=SyncRun.Status.RUNNING, **(only_if or {})
    ).update(**{"status": status, "finished_at": timezone.now(), "message": message, **fields})
    run.refresh_from_db()
    return updated == 1


def sync_run_fail(
    run: SyncRun,
    *,
    message: str,
    last: str,
    status: str = SyncRun.Status.FAILED,
    pause_reason: str = "",
    only_if: dict[str, Any] | None = None,
    **fields: Any,
) -> bool:
    """Record that ``run`` failed (FAILED, or ABANDONED by the reaper) and trip the circuit
    breaker: one more failure in a row for the connector, which is paused with
    ``pause_reason`` at once when one is given, else at FINHUB_CONNECTOR_MAX_FAILURES failures
    in a row, naming ``last`` (the failure that tipped it). Nothing happens when the run
    already ended another way (see ``sync_run_finish``); returns whether it was recorded."""
    with transaction.atomic():
        if not sync_run_finish(run, status=status, message=message, only_if=only_if, **fields):
            return False
        Connector.objects.filter(pk=run.connector_id).update(
            consecutive_failures=F("consecutive_failures") + 1
        )
        connector = Connector.objects.get(pk=run.connector_id)
        failures = connector.consecutive_failures
        if pause_reason:
            connector_pause(connector, pause_reason)
        elif failures >= settings.FINHUB_CONNECTOR_MAX_FAILURES:
            connector_pause(connector, f"Paused after {failures} failed runs in a row; {last}")
    return True
