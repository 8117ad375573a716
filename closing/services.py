"""Writes for the close: open a close from a template, move its tasks along (the engine),
run an automated task, tick a manual one, retry a failed one, unlock the period, and push
the reporting-time measurement to the scorecard.

The engine (``close_advance``): a waiting task whose dependencies are all done becomes
ready (manual: a person ticks it) or queued (automated: its Celery task is sent once the
transaction commits). A failed task stops everything downstream of it — its dependants stay
waiting — until it is retried. Every status change is a conditional UPDATE on the status it
expects, so two workers (or a redelivered message) cannot run or queue one task twice.
"""

from __future__ import annotations

import datetime as dt
import logging
from decimal import Decimal
from typing import TYPE_CHECKING

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from closing import computations, selectors
from closing.actions import CloseTaskFailed, action_run
from closing.models import Action, Close, CloseTask, CloseTemplate, CloseTemplateTask, Kind
from finhub.core.calendar import last_closed_month, month_of
from finhub.core.durations import reduction_percent
from records.locks import period_is_locked, period_lock, period_unlock
from roadmap.selectors import metric_list
from roadmap.services import MeasurementError, measurement_record

if TYPE_CHECKING:
    from django.contrib.auth.models import User

logger = logging.getLogger(__name__)

REPORTING_TIME_METRIC = "reporting_time_reduction"
REPORTING_TIME_SOURCE = "auto:close_reporting_time"
REPORTING_TIME_CLOSES = 3
# A task still "running" this long after it started lost its worker (a crash mid-action):
# it may be retried by hand.
STUCK_AFTER = dt.timedelta(hours=2)
PERCENT_STEP = Decimal("0.01")
Status = CloseTask.Status


# --- opening a close ---------------------------------------------------------------------------


def close_create(
    *, month: dt.date, template: CloseTemplate, user: User | None, today: dt.date | None = None
) -> Close:
    """Open the close of ``month`` (any day of it) from ``template``: copy its tasks and
    their dependencies with their due dates, then start what can start. Raises
    ValidationError naming ``month`` when the month has not ended or has a close already."""
    month = month_of(month)
    today = today or timezone.localdate()
    if month >= month_of(today):
        raise ValidationError(
            {"month": f"{month:%B %Y} has not ended yet: a month is closed once it is over."}
        )
    template_tasks = list(CloseTemplateTask.objects.filter(template=template).order_by("order"))
    through = CloseTemplateTask.depends_on.through
    links = list(
        through.objects.filter(from_closetemplatetask__template=template).values_list(
            "from_closetemplatetask_id", "to_closetemplatetask_id"
        )
    )
    depends: dict[int, list[int]] = {}
    for task_id, dep_id in links:
        depends.setdefault(task_id, []).append(dep_id)
    if computations.has_cycle(depends):
        raise ValidationError(
            {"template": f"The tasks of “{template}” depend on each other in a loop."}
        )
    with transaction.atomic():
        if Close.objects.filter(month=month).exists():
            raise ValidationError({"month": f"{month:%B %Y} has a close already."})
        close = Close.objects.create(month=month, template=template, created_by=_real_user(user))
        copies: dict[int, CloseTask] = {}
        for item in template_tasks:
            copies[item.pk] = CloseTask.objects.create(
                close=close,
                key=item.key,
                name=item.name,
                kind=item.kind,
                action=item.action,
                owner_user_id=item.owner_user_id,
                owner_group_id=item.owner_group_id,
                due_working_day=item.due_working_day,
                due_date=computations.due_date(month, item.due_working_day),
                order=item.order,
            )
        CloseTask.depends_on.through.objects.bulk_create(
            CloseTask.depends_on.through(
                from_closetask_id=copies[task_id].pk, to_closetask_id=copies[dep_id].pk
            )
            for task_id, dep_id in links
        )
        close_advance(close=close)
    return close


def close_open(
    *, month: dt.date | None = None, user: User | None = None, today: dt.date | None = None
) -> tuple[Close, bool]:
    """The close of ``month`` (default: the last month that has ended), opened from the
    default template when it has none yet; returns it and whether it was opened now.
    Idempotent: the schedule and ``close_open`` call it again and again."""
    today = today or timezone.localdate()
    month = month_of(month) if month else last_closed_month(today)
    existing = selectors.close_for_month(month=month)
    if existing is not None:
        return existing, False
    template = selectors.close_template_default()
    if template is None:
        raise ValidationError({"template": "No default close template: mark one as default."})
    return close_create(month=month, template=template, user=user, today=today), True


# --- the engine --------------------------------------------------------------------------------


def close_advance(*, close: Close) -> list[int]:
    """Start every waiting task whose dependencies are done (manual: ready; automated:
    queued and sent to Celery after the commit) and update the close's status. Returns the
    ids queued. Safe to call concurrently: each start is a conditional update."""
    now = timezone.now()
    queued: list[int] = []
    with transaction.atomic():
        rows = list(CloseTask.objects.filter(close=close).values_list("pk", "kind", "status"))
        tasks = {pk: kind for pk, kind, _ in rows}
        statuses = {pk: status for pk, _, status in rows}
        depends = selectors.close_task_dependencies(close=close)
        for task_id in computations.startable(statuses, depends):
            waiting = CloseTask.objects.filter(pk=task_id, status=Status.WAITING)
            if tasks[task_id] == Kind.MANUAL:
                if waiting.update(status=Status.READY):
                    statuses[task_id] = Status.READY
            elif waiting.update(status=Status.QUEUED, queued_at=now):
                statuses[task_id] = Status.QUEUED
                queued.append(task_id)
        _close_status_set(close, statuses.values(), now)
    for task_id in queued:
        transaction.on_commit(lambda task_id=task_id: _enqueue(task_id))
    return queued


def _enqueue(task_id: int) -> None:
    from closing.tasks import close_task_run  # the task module imports this one

    close_task_run.delay(task_id=task_id)


def _close_status_set(close: Close, statuses, now: dt.datetime) -> None:
    values = list(statuses)
    if all(s == Status.DONE for s in values):  # a close without tasks is done too
        status = Close.Status.DONE
    elif any(s == Status.FAILED for s in values):
        status = Close.Status.BLOCKED
    else:
        status = Close.Status.OPEN
    finished = (close.finished_at or now) if status == Close.Status.DONE else None
    if (close.status, close.finished_at) != (status, finished):
        Close.objects.filter(pk=close.pk).update(status=status, finished_at=finished)
        close.status, close.finished_at = status, finished


def close_task_run(*, task_id: int) -> CloseTask | None:
    """Run the queued automated task ``task_id`` (the Celery task calls this). Claims it
    first (queued -> running, conditional): a second delivery of the message finds it
    claimed and does nothing (returns None). The action runs outside any transaction (a
    sync commits page by page); its outcome is recorded, then the close advances."""
    now = timezone.now()
    claimed = CloseTask.objects.filter(pk=task_id, status=Status.QUEUED).update(
        status=Status.RUNNING, started_at=now, finished_at=None, attempts=F("attempts") + 1
    )
    if not claimed:
        logger.info("close task #%s is not queued: nothing to do", task_id)
        return None
    task = CloseTask.objects.select_related("close__template__pack").get(pk=task_id)
    try:
        outcome = action_run(task=task)
    except CloseTaskFailed as exc:
        status, detail, result = Status.FAILED, exc.message, exc.result
    except Exception as exc:  # an unexpected error fails the task too (it can be retried)
        logger.exception("close task #%s (%s) failed", task_id, task.action)
        status, detail, result = Status.FAILED, f"{type(exc).__name__}: {exc}", {}
    else:
        status, detail, result = Status.DONE, outcome.detail, outcome.result
    CloseTask.objects.filter(pk=task_id, status=Status.RUNNING).update(
        status=status, finished_at=timezone.now(), detail=detail[:5000], result=result
    )
    task.refresh_from_db()
    if task.action == Action.DELIVER_PACK and task.status == Status.DONE:
        reporting_time_push()
    close_advance(close=task.close)
    return task


def close_task_complete(*, task: CloseTask, user: User) -> CloseTask:
    """Tick a ready manual task as done by ``user`` (now), then advance the close."""
    if task.kind != Kind.MANUAL:
        raise ValidationError({"task": f"“{task.name}” is automated: FinHub runs it."})
    now = timezone.now()
    ticked = CloseTask.objects.filter(pk=task.pk, status=Status.READY).update(
        status=Status.DONE, done_by=_real_user(user), started_at=now, finished_at=now
    )
    task.refresh_from_db()
    if not ticked:
        raise ValidationError(
            {
                "task": f"“{task.name}” is {task.get_status_display().lower()}: only a ready task "
                "can be ticked (its dependencies must be done first)."
            }
        )
    close_advance(close=task.close)
    return task


def close_task_retry(*, task: CloseTask, user: User | None) -> CloseTask:
    """Put a failed automated task (or one whose worker was lost: running for over two
    hours) back in the queue; its dependants then follow as usual."""
    if task.kind != Kind.AUTOMATED:
        raise ValidationError({"task": f"“{task.name}” is manual: tick it when it is done."})
    stuck_before = timezone.now() - STUCK_AFTER
    retry = {"status": Status.QUEUED, "queued_at": timezone.now(), "detail": "", "result": {}}
    with transaction.atomic():
        requeued = CloseTask.objects.filter(pk=task.pk, status=Status.FAILED).update(**retry)
        if not requeued:
            requeued = CloseTask.objects.filter(
                pk=task.pk, status=Status.RUNNING, started_at__lt=stuck_before
            ).update(**retry)
        task.refresh_from_db()
        if not requeued:
            raise ValidationError(
                {
                    "task": f"“{task.name}” is {task.get_status_display().lower()}: only a failed "
                    "task can be retried."
                }
            )
        logger.info("close task #%s retried by %s", task.pk, user)
        close = task.close
        statuses = CloseTask.objects.filter(close=close).values_list("status", flat=True)
        _close_status_set(close, statuses, timezone.now())
        transaction.on_commit(lambda: _enqueue(task.pk))
    return task


# --- the period lock ---------------------------------------------------------------------------


def close_period_unlock(*, close: Close, user: User, reason: str) -> None:
    """Unlock the closed month (audited by records with who, when and why). The caller has
    checked the permission ``records.unlock_period``."""
    period_unlock(month=close.month, user=user, reason=reason)


def close_period_relock(*, close: Close, user: User) -> None:
    """Lock the month again after an unlock (audited like any lock). Only a month this
    close locked before: a close that has not reached its lock task locks it there."""
    if close.locked_at is None:
        raise ValidationError(
            {"month": f"{close.month:%B %Y} is locked by the close's last task, not by hand."}
        )
    if period_is_locked(month=close.month):
        raise ValidationError({"month": f"{close.month:%B %Y} is already locked."})
    period_lock(month=close.month, user=user, reason="Locked again on the close page")


# --- the scorecard -----------------------------------------------------------------------------


def reporting_time_push() -> bool:
    """Push "reduction in financial reporting time" = (1 - median(hours from period end to
    pack delivered, over the last three closes that delivered) / baseline hours) x 100.

    The baseline is the metric's baseline a project manager enters on the scorecard (hours
    the reporting took before FinHub); nothing is pushed without it, without any delivered
    close or when the scorecard has no such metric. Returns whether a value was recorded."""
    metric = metric_list().filter(key=REPORTING_TIME_METRIC).values_list("baseline", flat=True)
    baseline = next(iter(metric), None)
    closes = list(selectors.delivered_closes(limit=REPORTING_TIME_CLOSES))
    hours = [h for h in (selectors.hours_to_pack(c) for c in closes) if h is not None]
    result = reduction_percent(hours, baseline_hours=baseline)
    if result is None:
        return False
    percent, median = result
    months = ", ".join(f"{c.month:%Y-%m}" for c in closes)
    note = (
        f"Median {median:.1f} h from period end to pack delivered over {len(hours)} "
        f"close(s) ({months}); baseline {baseline} h."
    )
    try:
        measurement = measurement_record(
            metric_key=REPORTING_TIME_METRIC,
            value=percent.quantize(PERCENT_STEP),
            source=REPORTING_TIME_SOURCE,
            note=note[:500],
            period=f"{closes[0].month:%Y-%m}",
        )
    except MeasurementError as exc:
        logger.warning("reporting time not recorded: %s", exc)
        return False
    return bool(getattr(measurement, "recorded", True))


def _real_user(user):
    return user if getattr(user, "is_authenticated", False) else None
