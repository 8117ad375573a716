"""The reaper: a run whose worker died stops heartbeating; the reaper gives up on it.

Running runs whose heartbeat is older than ``FINHUB_SYNC_STALE_SECONDS`` are marked
abandoned ("worker lost: no heartbeat since …"), the connector's lease is cleared if they
hold it, and a retry run (trigger=retry, resumed_from=<abandoned run>, same mode and
entities) is queued: it resumes from the state the lost run committed page by page.

An abandoned run counts as a failed one for the circuit breaker (``runs.sync_run_fail``),
so a connector that keeps killing its worker (say, out of memory) ends up paused instead of
retried forever.

A queued run whose message was lost (a broker restart, say) would wait forever:
``queued_runs_resend`` sends its task again once it has waited longer than the stale limit.
A message delivered twice is harmless, since claiming a run is conditional.
"""

from __future__ import annotations

import datetime as dt
import logging

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from connectors.models import SyncRun

from . import locks
from .runs import sync_request, sync_run_fail

logger = logging.getLogger(__name__)


def stale_runs(*, now: dt.datetime | None = None):
    now = now or timezone.now()
    cutoff = now - dt.timedelta(seconds=settings.FINHUB_SYNC_STALE_SECONDS)
    return SyncRun.objects.filter(status=SyncRun.Status.RUNNING).filter(
        Q(heartbeat_at__lt=cutoff) | Q(heartbeat_at__isnull=True, started_at__lt=cutoff)
    )


def sync_runs_reap(*, now: dt.datetime | None = None) -> list[SyncRun]:
    """Abandon the stale running runs and queue a retry of each; returns the retry runs."""
    now = now or timezone.now()
    retries = []
    for run in stale_runs(now=now).select_related("connector").order_by("pk"):
        retry = _reap_one(run, now)
        if retry is not None:
            retries.append(retry)
    return retries


def _reap_one(run: SyncRun, now: dt.datetime) -> SyncRun | None:
    last = run.heartbeat_at or run.started_at
    since = last.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC") if last else "its start"
    with transaction.atomic():
        # Conditional: a run that heartbeated (or finished) since we looked is left alone.
        abandoned = sync_run_fail(
            run,
            status=SyncRun.Status.ABANDONED,
            message=f"worker lost: no heartbeat since {since}",
            last=f"last: run #{run.pk} lost its worker (no heartbeat since {since}).",
            only_if={"heartbeat_at": run.heartbeat_at},
            finished_at=now,
        )
        if not abandoned:
            return None
        connector = run.connector
        locks.lock_release(connector_id=connector.pk, run_id=run.pk)
        connector.refresh_from_db()
        logger.warning(
            "sync run #%s of %s abandoned: no heartbeat since %s", run.pk, connector.slug, since
        )
        if connector.paused_at is not None or not connector.enabled:
            return None
        return sync_request(
            connector,
            trigger=SyncRun.Trigger.RETRY,
            mode=run.mode,
            backfill_from=run.backfill_from,
            entities=run.entities,
            resumed_from=run,
        )


def queued_runs_resend(*, now: dt.datetime | None = None) -> list[int]:
    """Send the task again for runs queued longer than the stale limit; returns their ids.

    For a queued run ``heartbeat_at`` records when its task was last re-sent, so each
    waiting run is re-sent at most once per stale period.
    """
    from connectors.tasks import sync_connector

    now = now or timezone.now()
    cutoff = now - dt.timedelta(seconds=settings.FINHUB_SYNC_STALE_SECONDS)
    waiting = SyncRun.objects.filter(status=SyncRun.Status.QUEUED).filter(
        Q(heartbeat_at__lt=cutoff) | Q(heartbeat_at__isnull=True, created_at__lt=cutoff)
    )
    resent = []
    for run_id in waiting.order_by("pk").values_list("pk", flat=True):
        # Conditional, so two reapers running at once do not both re-send.
        claimed = (
            SyncRun.objects.filter(pk=run_id, status=SyncRun.Status.QUEUED)
            .filter(Q(heartbeat_at__lt=cutoff) | Q(heartbeat_at__isnull=True))
            .update(heartbeat_at=now)
        )
        if claimed:
            logger.warning("sync run #%s still queued: sending its task again", run_id)
            sync_connector.delay(run_id=run_id)
            resent.append(run_id)
    return resent
