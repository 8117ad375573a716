"""Reads for the roadmap: progress, overdue items, risk heat map, metric scorecard.

The dashboard's context comes from ``governance_dashboard`` in a fixed number of queries,
whatever the number of phases, items, risks or measurements.
"""

import datetime
from dataclasses import dataclass, field
from decimal import Decimal

from django.conf import settings
from django.db.models import Count, F, Q, QuerySet, Window
from django.db.models.functions import RowNumber
from django.utils import timezone

from finhub.core.money import round_half_up
from roadmap.models import ChecklistItem, Measurement, Phase, Programme, Risk, SuccessMetric

TREND_POINTS = 12  # measurements per metric on the scorecard's trend chart
HEAT_BANDS = ((20, "critical"), (10, "high"), (5, "medium"), (1, "low"))


def programme_current() -> Programme | None:
    """The programme the dashboard shows: the one that started most recently."""
    return Programme.objects.order_by("-start_date", "-pk").first()


def checklist_overdue_q(*, today: datetime.date) -> Q:
    return Q(due_date__lt=today) & ~Q(status__in=ChecklistItem.CLOSED)


def checklist_item_list(*, programme: Programme | None = None) -> QuerySet[ChecklistItem]:
    qs = ChecklistItem.objects.select_related("phase", "owner", "completed_by")
    return qs.filter(programme=programme) if programme else qs


def phase_list_with_progress(*, programme: Programme | None = None) -> QuerySet[Phase]:
    """Phases annotated with checklist counts: total, applicable, done, blocked, overdue."""
    today = timezone.localdate()
    status = "checklist_items__status"
    qs = Phase.objects.select_related("programme").annotate(
        items_total=Count("checklist_items", distinct=True),
        items_applicable=Count(
            "checklist_items",
            filter=~Q(**{status: ChecklistItem.Status.NOT_APPLICABLE}),
            distinct=True,
        ),
        items_done=Count(
            "checklist_items", filter=Q(**{status: ChecklistItem.Status.DONE}), distinct=True
        ),
        items_blocked=Count(
            "checklist_items", filter=Q(**{status: ChecklistItem.Status.BLOCKED}), distinct=True
        ),
        items_overdue=Count(
            "checklist_items",
            filter=Q(checklist_items__due_date__lt=today)
            & ~Q(**{f"{status}__in": ChecklistItem.CLOSED}),
            distinct=True,
        ),
        work_items_total=Count("work_items", distinct=True),
    )
    return qs.filter(programme=programme) if programme else qs


def progress_percent(*, done: int, applicable: int) -> int | None:
    """Whole percent done of the applicable items; None when nothing is applicable."""
    if not applicable:
        return None
    return (done * 100) // applicable


def risk_band(score: int) -> str:
    for floor, band in HEAT_BANDS:
        if score >= floor:
            return band
    return "low"


@dataclass
class PhaseRow:
    number: int
    name: str
    start_week: int
    end_week: int
    start_date: datetime.date
    end_date: datetime.date
    done: int
    applicable: int
    blocked: int
    overdue: int
    work_items: list[str]
    percent: int | None
    is_current: bool


@dataclass
class MetricRow:
    key: str
    name: str
    group: str
    group_label: str
    unit: str
    direction: str
    target: Decimal
    baseline: Decimal | None
    latest: Decimal | None
    latest_at: datetime.datetime | None
    latest_source: str
    state: str  # "met" / "not_met" / "not_measured"
    trend: list[dict] = field(default_factory=list)  # oldest first: at, value, source, period
    latest_period: str = ""
    #: The values as shown, with their unit ("USD 20,000.00", "99.5%"; metric_value_text).
    target_text: str = ""
    baseline_text: str = ""
    latest_text: str = ""


@dataclass
class Dashboard:
    programme: Programme | None
    today: datetime.date
    total_weeks: int = 0
    today_week: float | None = None  # 1.0 = start of week 1; None outside the programme
    today_percent: float | None = None  # the today marker's position along the timeline
    today_week_number: int | None = None  # the programme week today falls in
    weeks: list[dict] = field(default_factory=list)
    phases: list[PhaseRow] = field(default_factory=list)
    overall_done: int = 0
    overall_applicable: int = 0
    overall_percent: int | None = None
    pre_implementation: dict = field(default_factory=dict)
    attention: list[ChecklistItem] = field(default_factory=list)
    heatmap: list[dict] = field(default_factory=list)  # rows impact 5..1
    risks: list[Risk] = field(default_factory=list)
    metrics: list[MetricRow] = field(default_factory=list)
    metric_counts: dict = field(default_factory=dict)
    evidence: list[ChecklistItem] = field(default_factory=list)  # items FinHub checks itself
    evidence_counts: dict = field(default_factory=dict)  # evidence state -> items


def plain_decimal(value: Decimal | None) -> Decimal | None:
    """Drop trailing zeros without switching to exponent notation (100.0000 -> 100)."""
    if value is None:
        return None
    return value.quantize(Decimal(1)) if value == value.to_integral() else value.normalize()


def metric_value_text(value: Decimal | None, *, unit: str, currency: str = "") -> str:
    """A success metric's value with its unit: money in the reporting currency with cents
    ("USD 20,000.00", not "20000 reporting currency"), "99.5%", "300 s", "6 months", plain
    numbers for counts and ratios; "—" when there is none."""
    if value is None:
        return "\u2014"
    if unit == SuccessMetric.Unit.MONEY:
        currency = currency or settings.FINHUB_REPORTING_CURRENCY
        return f"{currency} {round_half_up(value, 2):,.2f}"
    number = f"{plain_decimal(value):,f}"
    suffix = {
        SuccessMetric.Unit.PERCENT: "%",
        SuccessMetric.Unit.POINTS: " pp",
        SuccessMetric.Unit.SECONDS: " s",
        SuccessMetric.Unit.MONTHS: " months",
    }.get(unit, "")
    return number + suffix


def metric_target_text(metric: SuccessMetric, *, currency: str = "") -> str:
    """The target with its direction: "≤ USD 20,000.00", "≥ 99.5%"."""
    sign = "\u2264" if metric.direction == SuccessMetric.Direction.AT_MOST else "\u2265"
    return f"{sign} {metric_value_text(metric.target_value, unit=metric.unit, currency=currency)}"


def _metric_rows(*, programme: Programme) -> list[MetricRow]:
    metrics = list(programme.success_metrics.order_by("order", "key"))
    recent = (
        Measurement.objects.filter(metric__programme=programme)
        .annotate(
            rank=Window(
                RowNumber(),
                partition_by=[F("metric_id")],
                order_by=[F("measured_at").desc(), F("pk").desc()],
            )
        )
        .filter(rank__lte=TREND_POINTS)
        .values("metric_id", "value", "measured_at", "source", "period", "rank")
    )
    by_metric: dict[int, list[dict]] = {}
    for row in recent:
        by_metric.setdefault(row["metric_id"], []).append(row)
    rows = []
    for metric in metrics:
        points = sorted(by_metric.get(metric.pk, []), key=lambda r: r["rank"])
        latest = points[0] if points else None
        if latest is None:
            state = "not_measured"
        else:
            state = "met" if metric.is_met(latest["value"]) else "not_met"
        rows.append(
            MetricRow(
                key=metric.key,
                name=metric.name,
                group=metric.group,
                group_label=metric.get_group_display(),
                unit=metric.get_unit_display(),
                direction=metric.direction,
                target=plain_decimal(metric.target_value),
                baseline=plain_decimal(metric.baseline),
                latest=plain_decimal(latest["value"]) if latest else None,
                latest_at=latest["measured_at"] if latest else None,
                latest_source=latest["source"] if latest else "",
                latest_period=latest["period"] if latest else "",
                target_text=metric_target_text(metric),
                baseline_text=metric_value_text(metric.baseline, unit=metric.unit),
                latest_text=metric_value_text(
                    latest["value"] if latest else None, unit=metric.unit
                ),
                state=state,
                trend=[
                    {
                        "at": p["measured_at"],
                        "value": plain_decimal(p["value"]),
                        "source": p["source"],
                        "period": p["period"],
                    }
                    for p in reversed(points)
                ],
            )
        )
    return rows


def governance_dashboard(*, programme: Programme | None = None) -> Dashboard:
    """Everything the governance dashboard shows, from the database, in bounded queries."""
    today = timezone.localdate()
    programme = programme or programme_current()
    if programme is None:
        return Dashboard(programme=None, today=today)
    dashboard = Dashboard(programme=programme, today=today)

    phases = list(
        phase_list_with_progress(programme=programme)
        .prefetch_related("work_items")
        .order_by("number")
    )
    dashboard.total_weeks = max((p.end_week for p in phases), default=0)
    for phase in phases:
        phase.programme = programme  # same row; saves a query per date
        percent = progress_percent(done=phase.items_done, applicable=phase.items_applicable)
        dashboard.phases.append(
            PhaseRow(
                number=phase.number,
                name=phase.name,
                start_week=phase.start_week,
                end_week=phase.end_week,
                start_date=phase.start_date,
                end_date=phase.end_date,
                done=phase.items_done,
                applicable=phase.items_applicable,
                blocked=phase.items_blocked,
                overdue=phase.items_overdue,
                work_items=[w.title for w in phase.work_items.all()],
                percent=percent,
                is_current=phase.start_date <= today <= phase.end_date,
            )
        )

    days = (today - programme.start_date).days
    if dashboard.total_weeks and 0 <= days < dashboard.total_weeks * 7:
        dashboard.today_week = 1 + days / 7
        dashboard.today_percent = round(days * 100 / (dashboard.total_weeks * 7), 2)
        dashboard.today_week_number = 1 + days // 7
    dashboard.weeks = [
        {
            "number": w,
            "start": programme.week_start(w),
            "is_current": dashboard.today_week_number == w,
        }
        for w in range(1, dashboard.total_weeks + 1)
    ]

    counts = programme.checklist_items.aggregate(
        pre_total=Count("pk", filter=Q(kind=ChecklistItem.Kind.PRE_IMPLEMENTATION)),
        pre_applicable=Count(
            "pk",
            filter=Q(kind=ChecklistItem.Kind.PRE_IMPLEMENTATION)
            & ~Q(status=ChecklistItem.Status.NOT_APPLICABLE),
        ),
        pre_done=Count(
            "pk",
            filter=Q(kind=ChecklistItem.Kind.PRE_IMPLEMENTATION, status=ChecklistItem.Status.DONE),
        ),
        applicable=Count("pk", filter=~Q(status=ChecklistItem.Status.NOT_APPLICABLE)),
        done=Count("pk", filter=Q(status=ChecklistItem.Status.DONE)),
    )
    dashboard.pre_implementation = {
        "total": counts["pre_total"],
        "done": counts["pre_done"],
        "applicable": counts["pre_applicable"],
        "percent": progress_percent(done=counts["pre_done"], applicable=counts["pre_applicable"]),
    }
    dashboard.overall_done = counts["done"]
    dashboard.overall_applicable = counts["applicable"]
    dashboard.overall_percent = progress_percent(
        done=counts["done"], applicable=counts["applicable"]
    )

    dashboard.attention = list(
        checklist_item_list(programme=programme)
        .filter(checklist_overdue_q(today=today) | Q(status=ChecklistItem.Status.BLOCKED))
        .order_by("due_date", "phase__number", "order")
    )
    for item in dashboard.attention:
        item.is_blocked = item.status == ChecklistItem.Status.BLOCKED

    risks = list(
        programme.risks.select_related("owner")
        .exclude(status=Risk.Status.CLOSED)
        .order_by("-score", "title")
    )
    dashboard.risks = risks
    cells: dict[tuple[int, int], list[Risk]] = {}
    for risk in risks:
        cells.setdefault((risk.likelihood, risk.impact), []).append(risk)
    dashboard.heatmap = [
        {
            "impact": impact,
            "cells": [
                {
                    "likelihood": likelihood,
                    "score": likelihood * impact,
                    "band": risk_band(likelihood * impact),
                    "risks": cells.get((likelihood, impact), []),
                }
                for likelihood in range(1, 6)
            ],
        }
        for impact in range(5, 0, -1)
    ]

    dashboard.evidence = list(
        checklist_item_list(programme=programme)
        .exclude(evidence_check="")
        .order_by(F("phase__number").asc(nulls_first=True), "order", "pk")
    )
    dashboard.evidence_counts = {
        state: sum(1 for item in dashboard.evidence if item.evidence_state == state)
        for state in ChecklistItem.EvidenceState.values
    }

    dashboard.metrics = _metric_rows(programme=programme)
    dashboard.metric_counts = {
        state: sum(1 for m in dashboard.metrics if m.state == state)
        for state in ("met", "not_met", "not_measured")
    }
    return dashboard


def metric_list() -> QuerySet[SuccessMetric]:
    return SuccessMetric.objects.select_related("programme").order_by("order", "key")


def metric_latest_measurements(*, keys) -> dict[str, dict]:
    """The latest measurement of each success metric named in ``keys``: key -> {"value",
    "period", "measured_at", "source"} (one query; metrics never measured are absent)."""
    latest: dict[str, dict] = {}
    rows = (
        Measurement.objects.filter(metric__key__in=list(keys))
        .order_by("metric__key", "-measured_at", "-pk")
        .values("metric__key", "value", "period", "measured_at", "source")
    )
    for row in rows:
        latest.setdefault(row.pop("metric__key"), row)
    return latest
