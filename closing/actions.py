"""What the automated close tasks do. Each action takes the running CloseTask and returns
an :class:`ActionOutcome` (a line of detail for the page and a JSON result), or raises
:class:`CloseTaskFailed` with the reason and what it found (the differences, the stale
sources…), which fails the task and stops its dependants until it is retried.

Every action is safe to run again (a retry): a sync reads from where it stands, checks only
read, a recompute replaces snapshots, a delivery sends the pack again (a retried delivery is
meant to reach people), locking a locked month changes nothing.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.utils import timezone

from closing.models import Close, CloseTask
from connectors.models import Connector, ReconciliationResult, SyncRun
from connectors.selectors import PULL_TRANSPORTS, source_freshness
from connectors.sync.engine import sync_run_execute
from connectors.sync.runs import sync_request
from finhub.core.calendar import MONTH, Period, month_end
from metrics.forecasts import forecasts_refresh
from metrics.services import metrics_compute_all
from metrics.snapshots import snapshots_warm
from records.locks import period_lock
from roadmap.selectors import metric_list

# The programme's data synchronisation accuracy target (roadmap/programme.py), used only
# when the scorecard has no such metric; otherwise its target, as a project manager set it.
ACCURACY_METRIC = "data_sync_accuracy"
DEFAULT_ACCURACY_TARGET = Decimal("99.9")
MAX_DIFFERENCES = 200
# A sync another worker is running is waited for this long (its lease and the reaper end a
# run whose worker died well within it), checking every few seconds.
SYNC_WAIT_SECONDS = 30 * 60
SYNC_POLL_SECONDS = 3  # listed in the result; the count says how many there were in all


class CloseTaskFailed(Exception):
    """The action could not do its job: ``message`` for the page, ``result`` with what it
    found. The task fails; its dependants wait until it is retried."""

    def __init__(self, message: str, result: dict | None = None):
        super().__init__(message)
        self.message = message
        self.result = result or {}


@dataclass(frozen=True)
class ActionOutcome:
    detail: str
    result: dict[str, Any] = field(default_factory=dict)


def _pull_sources():
    return Connector.objects.filter(enabled=True, transport__in=PULL_TRANSPORTS).order_by("name")


def _sync_one(connector: Connector) -> SyncRun:
    """Sync ``connector`` now and return its finished run. A run already queued for it (the
    schedule's, a first demo sync) is executed here rather than doubled — a worker that took
    it first keeps it — and one already running is waited for (bounded): the connector's
    lock would only make a second run skip."""
    active = (
        SyncRun.objects.filter(
            connector=connector, status__in=(SyncRun.Status.QUEUED, SyncRun.Status.RUNNING)
        )
        .order_by("created_at", "pk")
        .first()
    )
    run = active or sync_request(connector, trigger=SyncRun.Trigger.MANUAL, enqueue=False)
    run = sync_run_execute(run.pk)  # claims it when still queued; else returns it as it is
    deadline = time.monotonic() + SYNC_WAIT_SECONDS
    while run.status in (SyncRun.Status.QUEUED, SyncRun.Status.RUNNING):
        if time.monotonic() > deadline:
            break
        time.sleep(SYNC_POLL_SECONDS)
        run.refresh_from_db()
    return run


def sync_sources(task: CloseTask) -> ActionOutcome:
    """Sync every enabled source FinHub pulls from, now and one after the other, through the
    same engine as a scheduled sync (a run per connector, recorded on its health page)."""
    runs = [_sync_one(connector) for connector in _pull_sources()]
    result = {
        "runs": [
            {
                "connector": run.connector.name,
                "run": run.pk,
                "status": run.status,
                "message": run.message,
            }
            for run in runs
        ]
    }
    failed = [run for run in runs if run.status != SyncRun.Status.SUCCEEDED]
    if failed:
        names = "; ".join(f"{run.connector.name}: {run.message or run.status}" for run in failed)
        raise CloseTaskFailed(f"{len(failed)} of {len(runs)} sources did not sync: {names}", result)
    return ActionOutcome(f"Synced {len(runs)} sources.", result)


def check_freshness(task: CloseTask) -> ActionOutcome:
    """Every source's data is fresh (its last good sync recent enough, no failures)."""
    sources = source_freshness()
    result = {
        "sources": [{"name": s.name, "status": s.status, "message": s.message} for s in sources]
    }
    stale = [s for s in sources if s.is_warning]
    if stale:
        names = "; ".join(f"{s.name}: {s.message}" for s in stale)
        raise CloseTaskFailed(
            f"{len(stale)} of {len(sources)} sources are not fresh: {names}", result
        )
    return ActionOutcome(f"All {len(sources)} sources are fresh.", result)


def accuracy_target() -> Decimal:
    target = metric_list().filter(key=ACCURACY_METRIC).values_list("target_value", flat=True)
    return next(iter(target), None) or DEFAULT_ACCURACY_TARGET


def _latest_runs() -> list[SyncRun]:
    """The latest successful run of each enabled pull source (one query)."""
    runs = (
        SyncRun.objects.filter(connector__in=_pull_sources(), status=SyncRun.Status.SUCCEEDED)
        .select_related("connector")
        .order_by("connector__name", "connector_id", "-finished_at", "-pk")
    )
    latest: dict[int, SyncRun] = {}
    for run in runs:
        latest.setdefault(run.connector_id, run)
    return list(latest.values())


def _money(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


def reconcile(task: CloseTask) -> ActionOutcome:
    """Each source's reconciliation accuracy (matched month buckets / all buckets, measured
    by its latest sync against the source's control totals) is at least the scorecard's
    data synchronisation accuracy target; the differences are listed either way."""
    target = accuracy_target()
    runs = _latest_runs()
    differences = ReconciliationResult.objects.filter(run__in=runs, matched=False).order_by(
        "run__connector__name", "entity", "month"
    )
    names = {run.pk: run.connector.name for run in runs}
    listed = [
        {
            "source": names[d.run_id],
            "entity": d.entity,
            "month": d.month.strftime("%Y-%m") if d.month else None,
            "source_count": d.source_count,
            "finhub_count": d.finhub_count,
            "source_amount": _money(d.source_amount),
            "finhub_amount": _money(d.finhub_amount),
        }
        for d in differences[:MAX_DIFFERENCES]
    ]
    sources = [
        {
            "name": run.connector.name,
            "run": run.pk,
            "accuracy": _money(run.reconciliation_matched_pct),
        }
        for run in runs
    ]
    result = {
        "target": str(target),
        "sources": sources,
        "differences": listed,
        "differences_total": differences.count() if len(listed) == MAX_DIFFERENCES else len(listed),
    }
    below = [
        run
        for run in runs
        if run.reconciliation_matched_pct is not None and run.reconciliation_matched_pct < target
    ]
    if below:
        text = "; ".join(f"{run.connector.name} {run.reconciliation_matched_pct}%" for run in below)
        raise CloseTaskFailed(
            f"Reconciliation below the {target}% target: {text} "
            f"({result['differences_total']} differing buckets listed).",
            result,
        )
    unreconciled = [run.connector.name for run in runs if run.reconciliation_matched_pct is None]
    note = (
        f" Not reconciled (no control totals): {', '.join(unreconciled)}." if unreconciled else ""
    )
    return ActionOutcome(
        f"{len(runs) - len(unreconciled)} sources reconciled at or above {target}%.{note}",
        result,
    )


def figures_recompute() -> tuple[dict, dict, dict]:
    """Every figure a pack reads, recomputed now: the metric snapshots (and their scorecard
    measurements), the dashboards' usual periods, the forecasts. Also what
    ``make bench-reports`` runs before it times the pack."""
    return metrics_compute_all(), snapshots_warm(), forecasts_refresh()


def recompute(task: CloseTask) -> ActionOutcome:
    """Recompute every figure now, in this task: the pack must read the final figures."""
    summary, warmed, forecast = figures_recompute()
    result = {
        "snapshots": summary.get("snapshots"),
        "dashboard_snapshots": warmed.get("snapshots"),
        "measurements": list(summary.get("measurements", [])),
        "forecast": {key: str(value) for key, value in forecast.items()},
    }
    return ActionOutcome(
        f"Recomputed {summary.get('snapshots')} metric snapshots, "
        f"{warmed.get('snapshots')} dashboard snapshots; forecast "
        f"{'recomputed' if forecast.get('computed') else 'already current'}.",
        result,
    )


def deliver_pack(task: CloseTask) -> ActionOutcome:
    """Build the template's report pack for the closed month, archive it and send it to the
        template's recipients; the close records when (the reporting-time measurement, pushed to
    the scorecard by the engine once this task is done)."""
    from reports.services import ReportDeliveryError, pack_deliver

    close = task.close
    template = close.template
    if template.pack is None:
        raise CloseTaskFailed(f"The template “{template}” names no report pack to deliver.")
    period = Period(MONTH, close.month, month_end(close.month))
    try:
        deliveries = pack_deliver(
            pack=template.pack,
            period=period,
            groups=list(template.recipient_groups.all()),
            users=list(template.recipient_users.all()),
            trigger="close",
        )
    except ReportDeliveryError as exc:
        raise CloseTaskFailed(f"The pack was not delivered: {exc}") from exc
    sent = [d for d in deliveries if d.status == "sent"]
    delivered_at = max((d.sent_at for d in sent if d.sent_at), default=None) or timezone.now()
    Close.objects.filter(pk=close.pk).update(pack_delivered_at=delivered_at)
    close.pack_delivered_at = delivered_at
    failed = [d for d in deliveries if d.status != "sent"]
    return ActionOutcome(
        f"“{template.pack}” for {period.label} sent in {len(sent)} e-mail(s)"
        + (f"; {len(failed)} failed" if failed else "")
        + ".",
        {
            "delivered_at": delivered_at.isoformat(),
            "deliveries": [
                {"id": d.pk, "status": d.status, "recipients": d.recipients, "error": d.error}
                for d in deliveries
            ],
        },
    )


def lock_period(task: CloseTask) -> ActionOutcome:
    """Lock the closed month: later changes to its records are flagged as post-close
    adjustments (records.locks)."""
    close = task.close
    lock = period_lock(month=close.month, user=None, reason=f"Month-end close {close.month:%Y-%m}")
    Close.objects.filter(pk=close.pk).update(locked_at=lock.locked_at)
    close.locked_at = lock.locked_at
    return ActionOutcome(
        f"{close.month:%B %Y} locked at {timezone.localtime(lock.locked_at):%Y-%m-%d %H:%M}.",
        {"locked_at": lock.locked_at.isoformat()},
    )


ACTIONS: dict[str, Callable[[CloseTask], ActionOutcome]] = {
    "sync_sources": sync_sources,
    "check_freshness": check_freshness,
    "reconcile": reconcile,
    "recompute": recompute,
    "deliver_pack": deliver_pack,
    "lock_period": lock_period,
}


def action_run(*, task: CloseTask) -> ActionOutcome:
    action = ACTIONS.get(task.action)
    if action is None:
        raise CloseTaskFailed(f"Unknown action {task.action!r}.")
    return action(task)
