"""The close's pure arithmetic: working days and due dates, which tasks can start, which
failure blocks a task, the dependency order, lateness and the instant a period ends.

Working days are Monday to Friday: there is no holiday calendar yet (docs/close.md), so a
public holiday counts as a working day. No Django, no database: plain dates and ids.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping

from finhub.core.calendar import add_months, month_end, month_of

WAITING, READY, QUEUED, RUNNING, DONE, FAILED = (
    "waiting",
    "ready",
    "queued",
    "running",
    "done",
    "failed",
)


def is_working_day(day: dt.date) -> bool:
    """Monday to Friday (no holidays yet)."""
    return day.weekday() < 5


def working_day_after(day: dt.date, n: int) -> dt.date:
    """The ``n``-th working day after ``day`` (``n`` >= 1); ``day`` itself when ``n`` is 0,
    whatever weekday it is (the period's last day is its own deadline)."""
    if n < 0:
        raise ValueError(f"n must be 0 or more, not {n}.")
    while n:
        day += dt.timedelta(days=1)
        if is_working_day(day):
            n -= 1
    return day


def due_date(month: dt.date, due_working_day: int) -> dt.date:
    """When a task of the close of ``month`` is due: ``due_working_day`` working days after
    the month's last day (0: the last day itself)."""
    return working_day_after(month_end(month), due_working_day)


def period_end(month: dt.date, tz: dt.tzinfo) -> dt.datetime:
    """The instant the month ends: midnight (local time ``tz``) starting the next month."""
    return dt.datetime.combine(add_months(month_of(month), 1), dt.time.min, tzinfo=tz)


def close_month_due(today: dt.date) -> dt.date | None:
    """The month whose close should be open on ``today``: last month, once its first
    working day has come (on or after it, so a day the scheduler missed is caught up);
    None before that (e.g. on a Saturday 1st, working day 1 being Monday the 3rd)."""
    month = add_months(month_of(today), -1)
    return month if today >= due_date(month, 1) else None


def startable(statuses: Mapping[int, str], depends_on: Mapping[int, Iterable[int]]) -> list[int]:
    """The waiting tasks whose dependencies are all done (ids in ``statuses`` order)."""
    return [
        task
        for task, status in statuses.items()
        if status == WAITING and all(statuses[dep] == DONE for dep in depends_on.get(task, ()))
    ]


def blocking_failures(
    task: int, statuses: Mapping[int, str], depends_on: Mapping[int, Iterable[int]]
) -> list[int]:
    """The failed tasks upstream of ``task`` that keep it waiting (nearest first, each
    once). A failed task stops every task that depends on it, directly or not."""
    found: list[int] = []
    seen: set[int] = set()
    frontier = list(depends_on.get(task, ()))
    while frontier:
        following = []
        for dep in frontier:
            if dep in seen:
                continue
            seen.add(dep)
            if statuses.get(dep) == FAILED:
                found.append(dep)
            elif statuses.get(dep) != DONE:
                following.extend(depends_on.get(dep, ()))
        frontier = following
    return found


def dependency_order(
    order: Mapping[int, int], depends_on: Mapping[int, Iterable[int]]
) -> list[int]:
    """The tasks in an order where each comes after its dependencies; among those free to
    come next, the lowest ``order`` first. A cycle (which the engine refuses) would leave
    tasks out: they are appended in ``order`` so none is lost from a page."""
    pending = dict(order)
    placed: list[int] = []
    done: set[int] = set()
    while pending:
        free = [t for t in pending if all(d in done for d in depends_on.get(t, ()))]
        if not free:
            placed.extend(sorted(pending, key=lambda t: (pending[t], t)))
            break
        nxt = min(free, key=lambda t: (pending[t], t))
        placed.append(nxt)
        done.add(nxt)
        del pending[nxt]
    return placed


def has_cycle(depends_on: Mapping[int, Iterable[int]]) -> bool:
    """Whether the dependencies loop back on themselves (a close could never finish)."""
    nodes = set(depends_on) | {d for deps in depends_on.values() for d in deps}
    order = dependency_order(dict.fromkeys(nodes, 0), depends_on)
    position = {node: index for index, node in enumerate(order)}
    return any(position[dep] >= position[task] for task, deps in depends_on.items() for dep in deps)


def is_late(*, due: dt.date, finished_on: dt.date | None, today: dt.date) -> bool:
    """Finished after its due date, or still unfinished once the due date has passed."""
    if finished_on is not None:
        return finished_on > due
    return today > due
