"""Reads for the close: the closes list, one close's timeline (tasks in dependency order with
planned vs actual and what blocks them), the template to open, the hours to the pack."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import Count, Q, QuerySet
from django.utils import timezone

from closing import computations
from closing.models import Close, CloseTask, CloseTemplate, Kind
from finhub.core.durations import hours_between


def close_template_default() -> CloseTemplate | None:
    return CloseTemplate.objects.filter(is_default=True).first()


def close_get(*, close_id: int) -> Close | None:
    return Close.objects.select_related("template__pack", "created_by").filter(pk=close_id).first()


def close_for_month(*, month: dt.date) -> Close | None:
    return Close.objects.filter(month=month).first()


def close_task_dependencies(*, close: Close) -> dict[int, list[int]]:
    """Task id -> the ids it depends on, for every task of ``close`` (one query)."""
    through = CloseTask.depends_on.through
    depends: dict[int, list[int]] = defaultdict(list)
    rows = through.objects.filter(from_closetask__close=close).values_list(
        "from_closetask_id", "to_closetask_id"
    )
    for task_id, dep_id in rows.order_by("from_closetask_id", "to_closetask_id"):
        depends[task_id].append(dep_id)
    return dict(depends)


def hours_to_pack(close: Close, *, tz: dt.tzinfo | None = None) -> Decimal | None:
    """Hours from the instant the closed month ended (local midnight) to the pack's
    delivery: the reporting-time measurement of one close."""
    if close.pack_delivered_at is None:
        return None
    end = computations.period_end(close.month, tz or timezone.get_current_timezone())
    return hours_between(end, close.pack_delivered_at)


@dataclass
class CloseRow:
    """One close on the list page."""

    close: Close
    done: int
    total: int
    failed: int
    hours_to_pack: Decimal | None

    @property
    def percent(self) -> int:
        return round(100 * self.done / self.total) if self.total else 0


def close_list() -> list[CloseRow]:
    """Every close, newest month first, with its progress (one query)."""
    closes = Close.objects.select_related("template").annotate(
        n_total=Count("tasks"),
        n_done=Count("tasks", filter=Q(tasks__status=CloseTask.Status.DONE)),
        n_failed=Count("tasks", filter=Q(tasks__status=CloseTask.Status.FAILED)),
    )
    return [
        CloseRow(
            close=c,
            done=c.n_done,  # type: ignore[attr-defined]
            total=c.n_total,  # type: ignore[attr-defined]
            failed=c.n_failed,  # type: ignore[attr-defined]
            hours_to_pack=hours_to_pack(c),
        )
        for c in closes.order_by("-month")
    ]


@dataclass
class TaskRow:
    """One task on the timeline: the task with its dependencies and the failures that block
    it, planned (due date) against actual (finished), late or not, and the chain bar."""

    task: CloseTask
    depends_on: list[CloseTask]
    blocked_by: list[CloseTask]
    late: bool
    step: int  # position in the chain: 1 + the longest chain of dependencies before it
    finished_on: dt.date | None = None


@dataclass
class Timeline:
    close: Close
    rows: list[TaskRow]
    steps: int
    hours_to_pack: Decimal | None
    late: int
    done: int
    counts: dict[str, int] = field(default_factory=dict)


def close_timeline(*, close: Close, today: dt.date | None = None) -> Timeline:
    """The tasks of ``close`` in dependency order (two queries whatever their number)."""
    today = today or timezone.localdate()
    tasks = {
        t.pk: t
        for t in CloseTask.objects.filter(close=close).select_related(
            "owner_user", "owner_group", "done_by"
        )
    }
    depends = close_task_dependencies(close=close)
    statuses = {pk: t.status for pk, t in tasks.items()}
    order = computations.dependency_order({pk: t.order for pk, t in tasks.items()}, depends)
    steps: dict[int, int] = {}
    for pk in order:
        steps[pk] = 1 + max((steps.get(d, 0) for d in depends.get(pk, ())), default=0)
    rows = []
    for pk in order:
        task = tasks[pk]
        finished_on = timezone.localdate(task.finished_at) if task.finished_at else None
        if task.status != CloseTask.Status.DONE:
            finished_on = None
        rows.append(
            TaskRow(
                task=task,
                depends_on=[tasks[d] for d in depends.get(pk, ()) if d in tasks],
                blocked_by=[
                    tasks[f]
                    for f in computations.blocking_failures(pk, statuses, depends)
                    if f in tasks
                ],
                late=computations.is_late(due=task.due_date, finished_on=finished_on, today=today),
                step=steps[pk],
                finished_on=finished_on,
            )
        )
    counts: dict[str, int] = defaultdict(int)
    for status in statuses.values():
        counts[status] += 1
    return Timeline(
        close=close,
        rows=rows,
        steps=max(steps.values(), default=0),
        hours_to_pack=hours_to_pack(close),
        late=sum(1 for r in rows if r.late),
        done=counts[CloseTask.Status.DONE],
        counts=dict(counts),
    )


def delivered_closes(*, limit: int = 3) -> QuerySet[Close]:
    """The latest closes (by month) whose pack was delivered: the reporting-time sample."""
    return Close.objects.filter(pack_delivered_at__isnull=False).order_by("-month")[:limit]


def close_automation_latest() -> tuple[Close, int] | None:
    """The newest close with at least one automated task done, and how many it ran (the
    rollout evidence that the month-end close is automated)."""
    close = (
        Close.objects.filter(tasks__kind=Kind.AUTOMATED, tasks__status=CloseTask.Status.DONE)
        .annotate(
            automated=Count(
                "tasks",
                filter=Q(tasks__kind=Kind.AUTOMATED, tasks__status=CloseTask.Status.DONE),
            )
        )
        .order_by("-month")
        .first()
    )
    return None if close is None else (close, close.automated)
