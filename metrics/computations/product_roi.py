"""Product development ROI per initiative and its tracking coverage (docs/metrics.md,
"Product development ROI").

Inputs are plain records (no ORM): the initiatives, their cost items (GL, time entries
already valued at hours * rate, other), the GL lines tagged with an initiative, and their
benefit records (credited revenue, retained MRR). ``None`` = undefined.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from finhub.core.calendar import month_of, months_between
from metrics.computations.coverage import percent_of
from metrics.computations.presentation import ratio

ZERO = Decimal(0)

COST_GL = "gl"
COST_TIME = "time"
COST_OTHER = "other"
COST_KINDS = (COST_GL, COST_TIME, COST_OTHER)
BENEFIT_REVENUE = "revenue"
BENEFIT_RETENTION = "retention"
BENEFIT_KINDS = (BENEFIT_REVENUE, BENEFIT_RETENTION)

NOT_PAID_BACK = "not paid back"
POSSIBLE_DOUBLE_COUNT = "possible double count"


@dataclass(frozen=True)
class InitiativeInfo:
    """An initiative and the month it started (``start``: any day of that month)."""

    id: Hashable
    start: date


@dataclass(frozen=True)
class CostItem:
    """An initiative cost: ``kind`` is ``"gl"``, ``"time"`` (hours * rate) or ``"other"``."""

    initiative_id: Hashable
    day: date
    kind: str
    amount: Decimal


@dataclass(frozen=True)
class TaggedGl:
    """A GL line tagged with an initiative (its amount counts as the initiative's cost)."""

    initiative_id: Hashable
    day: date
    amount: Decimal


@dataclass(frozen=True)
class BenefitItem:
    """A benefit record: ``kind`` is ``"revenue"`` (credited revenue) or ``"retention"``
    (retained MRR); counted at gross margin."""

    initiative_id: Hashable
    day: date
    kind: str
    amount: Decimal


@dataclass(frozen=True)
class CumulativePoint:
    """Cumulative cost and benefit (at gross margin) of an initiative at a month's end."""

    month: date
    cost: Decimal
    benefit: Decimal


@dataclass(frozen=True)
class InitiativeRoi:
    """An initiative's ROI for a period and since its start.

    ``cost`` = ``gl_cost + time_cost + other_cost + tagged_gl_cost``; ``benefit`` = the
    period's benefit records * gross margin. ``payback_month``: the first month since the
    start whose cumulative benefit ≥ cumulative cost (> 0), ``None`` = "not paid back".
    ``double_count_months``: months of the period with both a GL-kind cost and tagged GL
    lines ("possible double count"; both amounts are still in ``cost``).
    """

    initiative_id: Hashable
    start: date
    gl_cost: Decimal
    time_cost: Decimal
    other_cost: Decimal
    tagged_gl_cost: Decimal
    cost: Decimal
    benefit: Decimal
    roi: Decimal | None
    cumulative_cost: Decimal
    cumulative_benefit: Decimal
    cumulative_roi: Decimal | None
    payback_month: date | None
    double_count_months: tuple[date, ...]
    has_benefit: bool


def _between(day: date, start: date, end: date) -> bool:
    return start <= day <= end


def monthly_cumulative(
    *,
    initiative: InitiativeInfo,
    costs: Iterable[CostItem],
    tagged_gl: Iterable[TaggedGl],
    benefits: Iterable[BenefitItem],
    end: date,
    gross_margin: Decimal,
) -> list[CumulativePoint]:
    """Cumulative cost and benefit of ``initiative`` at the end of every month from its start
    month to ``end``'s month (for a cost-vs-benefit chart). Records of other initiatives and
    records dated before the start month or after ``end`` are left out."""
    first = month_of(initiative.start)
    cost_by_month: dict[date, Decimal] = defaultdict(lambda: ZERO)
    benefit_by_month: dict[date, Decimal] = defaultdict(lambda: ZERO)
    cost_records: list[CostItem | TaggedGl] = [*costs, *tagged_gl]
    for record in cost_records:
        if record.initiative_id == initiative.id and _between(record.day, first, end):
            cost_by_month[month_of(record.day)] += Decimal(record.amount)
    for item in benefits:
        if item.initiative_id == initiative.id and _between(item.day, first, end):
            benefit_by_month[month_of(item.day)] += Decimal(item.amount)
    points = []
    cost = benefit = ZERO
    for month in months_between(first, end) if first <= end else ():
        cost += cost_by_month[month]
        benefit += benefit_by_month[month] * Decimal(gross_margin)
        points.append(CumulativePoint(month, cost, benefit))
    return points


def payback_month(points: Sequence[CumulativePoint]) -> date | None:
    """The first month whose cumulative benefit ≥ cumulative cost, counting only months with
    some cumulative cost (nothing spent yet is nothing to pay back); ``None`` = not paid
    back."""
    for point in points:
        if point.cost > 0 and point.benefit >= point.cost:
            return point.month
    return None


def initiative_roi(
    *,
    initiatives: Sequence[InitiativeInfo],
    costs: Sequence[CostItem],
    tagged_gl: Sequence[TaggedGl],
    benefits: Sequence[BenefitItem],
    start: date,
    end: date,
    gross_margin: Decimal,
) -> list[InitiativeRoi]:
    """ROI of every initiative for the period ``start``…``end`` (inclusive days), in the
    order given.

    cost = Σ its cost items in the period (GL, time, other) + Σ GL lines tagged with it in
    the period; benefit = Σ its benefit records in the period * gross margin; ROI = (benefit
    - cost) / cost, undefined when cost = 0. Cumulative figures run from the initiative's
    start month to ``end``.
    """
    costs_of: dict[Hashable, list[CostItem]] = defaultdict(list)
    tagged_of: dict[Hashable, list[TaggedGl]] = defaultdict(list)
    benefits_of: dict[Hashable, list[BenefitItem]] = defaultdict(list)
    for item in costs:
        if item.kind not in COST_KINDS:
            raise ValueError(f"unknown initiative cost kind {item.kind!r}")
        costs_of[item.initiative_id].append(item)
    for line in tagged_gl:
        tagged_of[line.initiative_id].append(line)
    for record in benefits:
        if record.kind not in BENEFIT_KINDS:
            raise ValueError(f"unknown benefit kind {record.kind!r}")
        benefits_of[record.initiative_id].append(record)

    rows = []
    for initiative in initiatives:
        own_costs = [c for c in costs_of[initiative.id] if _between(c.day, start, end)]
        own_tagged = [t for t in tagged_of[initiative.id] if _between(t.day, start, end)]
        own_benefits = [b for b in benefits_of[initiative.id] if _between(b.day, start, end)]
        by_kind = {
            kind: sum((Decimal(c.amount) for c in own_costs if c.kind == kind), ZERO)
            for kind in COST_KINDS
        }
        tagged_cost = sum((Decimal(t.amount) for t in own_tagged), ZERO)
        cost = by_kind[COST_GL] + by_kind[COST_TIME] + by_kind[COST_OTHER] + tagged_cost
        benefit = sum((Decimal(b.amount) for b in own_benefits), ZERO) * Decimal(gross_margin)
        gl_months = {month_of(c.day) for c in own_costs if c.kind == COST_GL}
        tagged_months = {month_of(t.day) for t in own_tagged}
        points = monthly_cumulative(
            initiative=initiative,
            costs=costs_of[initiative.id],
            tagged_gl=tagged_of[initiative.id],
            benefits=benefits_of[initiative.id],
            end=end,
            gross_margin=gross_margin,
        )
        total_cost = points[-1].cost if points else ZERO
        total_benefit = points[-1].benefit if points else ZERO
        rows.append(
            InitiativeRoi(
                initiative_id=initiative.id,
                start=month_of(initiative.start),
                gl_cost=by_kind[COST_GL],
                time_cost=by_kind[COST_TIME],
                other_cost=by_kind[COST_OTHER],
                tagged_gl_cost=tagged_cost,
                cost=cost,
                benefit=benefit,
                roi=ratio(benefit - cost, cost),
                cumulative_cost=total_cost,
                cumulative_benefit=total_benefit,
                cumulative_roi=ratio(total_benefit - total_cost, total_cost),
                payback_month=payback_month(points),
                double_count_months=tuple(sorted(gl_months & tagged_months)),
                has_benefit=bool(own_benefits),
            )
        )
    return rows


def initiatives_defined_with_benefit(rows: Iterable[InitiativeRoi]) -> set[Hashable]:
    """The initiatives whose period ROI is defined and that have a benefit record in the
    period: those whose assigned cost counts as covered."""
    return {row.initiative_id for row in rows if row.roi is not None and row.has_benefit}


def development_roi_coverage(
    *,
    development_cost: Decimal,
    assigned_cost_by_initiative: Mapping[Hashable, Decimal],
    defined_with_benefit: Collection[Hashable],
) -> Decimal | None:
    """Development ROI tracking coverage, in %: the development cost assigned to initiatives
    (tagged GL lines or initiative costs) whose period ROI is defined and that have a benefit
    record (``defined_with_benefit``, see :func:`initiatives_defined_with_benefit`) /
    development cost of the period; undefined when that cost is 0."""
    covered = sum(
        (
            Decimal(amount)
            for initiative, amount in assigned_cost_by_initiative.items()
            if initiative in defined_with_benefit
        ),
        ZERO,
    )
    return percent_of(covered, Decimal(development_cost))
