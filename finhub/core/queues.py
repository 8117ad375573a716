"""The Celery queues, one per workload, and which task goes to which (the one place).

A queue per workload lets production give each its own worker pool (docs/operations.md):
long syncs never delay an alert tick, a recompute never waits behind a report pack.
``make run`` starts one worker that consumes them all.

Settings route every task through :func:`route_task` (``CELERY_TASK_ROUTES``); beat's
periodic tasks follow the same routes (their ``queue`` field is left empty). Every name is
prefixed by ``settings.FINHUB_QUEUE_PREFIX`` (empty in production), which gives each test
that starts workers queues of its own on a shared broker.
"""

from fnmatch import fnmatchcase
from typing import Any

from kombu import Exchange, Queue

DEFAULT = "celery"  # Celery's own default name: housekeeping, the close, the home page
SYNC = "sync"  # pulling from the source systems (long, network bound)
METRICS = "metrics"  # recomputing snapshots, forecasts and anomalies (CPU and database bound)
REPORTS = "reports"  # building, rendering and mailing report packs
ALERTS = "alerts"  # the alert rules' tick and notifications (short, time sensitive)

ALL = (DEFAULT, SYNC, METRICS, REPORTS, ALERTS)

# Task name (exact, or a glob on the module) -> queue. Exact names win over globs; the globs
# are tried in order. tests/core/test_queues.py fails when a task matches none of them, so a
# new task gets a queue deliberately.
ROUTES: dict[str, str] = {
    # The reaper watches the sync workers: it must run when every one of them is busy or
    # dead, so it stays off their queue (it queues the retries it decides on to `sync`).
    "connectors.tasks.sync_runs_reap": DEFAULT,
    "connectors.tasks.idempotency_keys_purge_expired": DEFAULT,  # a DELETE, hourly
    "connectors.tasks.*": SYNC,
    "metrics.tasks.*": METRICS,
    "reports.tasks.*": REPORTS,
    "alerts.tasks.*": ALERTS,
    # A close task runs its syncs, recompute and pack in-line, one step at a time and only
    # at month end: it waits on no other queue and would hold a sync or metrics slot for
    # the whole close if it ran there.
    "closing.tasks.*": DEFAULT,
    "records.tasks.*": DEFAULT,  # the pending-reference sweep: a few UPDATEs
    "overview.tasks.*": DEFAULT,
    "operations.tasks.*": DEFAULT,
    "finhub.core.tasks.*": DEFAULT,
}


def prefix() -> str:
    from django.conf import settings

    return str(getattr(settings, "FINHUB_QUEUE_PREFIX", ""))


def queue_name(queue: str, *, queue_prefix: str | None = None) -> str:
    """The broker's name of ``queue`` (one of :data:`ALL`) with the configured prefix."""
    if queue not in ALL:
        raise ValueError(f"unknown queue {queue!r}; the queues are {', '.join(ALL)}")
    return f"{prefix() if queue_prefix is None else queue_prefix}{queue}"


def queue_for(task_name: str) -> str | None:
    """The queue (unprefixed) ROUTES gives ``task_name``; None when nothing matches."""
    if task_name in ROUTES:
        return ROUTES[task_name]
    for pattern, queue in ROUTES.items():
        if "*" in pattern and fnmatchcase(task_name, pattern):
            return queue
    return None


def route_task(
    name: str, args: Any, kwargs: Any, options: dict[str, Any], task: Any = None, **kw: Any
) -> dict[str, str] | None:
    """Celery router (``CELERY_TASK_ROUTES``). An explicit ``queue=`` given to apply_async,
    or a PeriodicTask's own queue, still wins: Celery merges the call's options over this."""
    queue = queue_for(name)
    return None if queue is None else {"queue": queue_name(queue)}


def task_queues(queue_prefix: str) -> list[Queue]:
    """The declarations (``CELERY_TASK_QUEUES``): a worker started without ``-Q`` consumes
    every one. Same shape as the queues Celery creates on demand (an exchange per queue)."""
    names = [queue_name(queue, queue_prefix=queue_prefix) for queue in ALL]
    return [Queue(name, Exchange(name), routing_key=name) for name in names]
