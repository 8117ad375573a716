"""Reads for the roadmap: progress, overdue items, risk heat map, metric scorecard.

The dashboard's context comes from ``governance_dashboard`` in a fixed number of queries,
whatever the number of phases, items, risks or measurements.
"""

import datetime
from dataclasses import dataclass, field
from decimal import Decimal

from django.conf import settings
from django.db.models import Count, F, OuterRef, Q, QuerySet, Subquery, Window
from django.db.models.functions import RowNumber
from django.urls import reverse
from django.utils import timezone

from finhub.core.money import round_half_up
from roadmap import gates
from roadmap.models import (
    ChecklistItem,
    Measurement,
    Phase,
    PhaseGateOverride,
    Programme,
    Risk,
    SuccessMetric,
)

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
    pk: int | None = None
    status: str = Phase.Status.PLANNED
    status_label: str = ""
    completed_at: datetime.datetime | None = None
    completed_by: str = ""
    #: The reason of the override that completed the phase ("" when its gate held).
    override_reason: str = ""
    gate: gates.Gate | None = None  # only when the dashboard is read with_gates


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
    #: "automatic" (pushed by FinHub or an API token: source auto:…), "entered" (typed in by
    #: a person: source manual) or "" when never measured.
    source_kind: str = ""
    #: The latest value's last measurement: first recorded, or re-confirmed by its source.
    last_measured_at: datetime.datetime | None = None
    cadence: datetime.timedelta | None = None
    cadence_text: str = ""  # "hour", "day", "31 days"
    #: Not measured for longer than its cadence plus the grace (roadmap.gates.STALE_GRACE_SHARE).
    stale: bool = False
    stale_since: datetime.datetime | None = None


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


AUTOMATIC, ENTERED = "automatic", "entered"


def measurement_source_kind(source: str) -> str:
    """The kind of a measurement's source: "automatic" for a pushed value (auto:…),
    "entered" for one typed in, "" for none."""
    if not source:
        return ""
    return ENTERED if source == Measurement.MANUAL else AUTOMATIC


def cadence_text(cadence: datetime.timedelta | None) -> str:
    """A cadence in words for "every …": "hour", "day", "31 days", "90 minutes"."""
    if cadence is None:
        return ""
    seconds = int(cadence.total_seconds())
    for size, unit in ((86400, "day"), (3600, "hour"), (60, "minute"), (1, "second")):
        if seconds % size == 0:
            count = seconds // size
            return unit if count == 1 else f"{count} {unit}s"
    return str(cadence)


def metric_scorecard_url(key: str) -> str:
    """The metric's row on the governance dashboard's scorecard."""
    return f"{reverse('roadmap:dashboard')}#metric-{key}"


def _metric_rows(*, metrics: list[SuccessMetric]) -> list[MetricRow]:
    """Scorecard rows of ``metrics``, in their order: one query for their measurements."""
    now = timezone.now()
    recent = (
        Measurement.objects.filter(metric__in=[m.pk for m in metrics])
        .annotate(
            rank=Window(
                RowNumber(),
                partition_by=[F("metric_id")],
                order_by=[F("measured_at").desc(), F("pk").desc()],
            )
        )
        .filter(rank__lte=TREND_POINTS)
        .values("metric_id", "value", "measured_at", "confirmed_at", "source", "period", "rank")
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
        last_measured_at = (
            max(latest["measured_at"], latest["confirmed_at"] or latest["measured_at"])
            if latest
            else None
        )
        stale_since = gates.metric_stale_since(
            last_measured_at=last_measured_at, cadence=metric.cadence
        )
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
                source_kind=measurement_source_kind(latest["source"] if latest else ""),
                last_measured_at=last_measured_at,
                cadence=metric.cadence,
                cadence_text=cadence_text(metric.cadence),
                stale=stale_since is not None and now > stale_since,
                stale_since=stale_since,
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


def governance_dashboard(
    *, programme: Programme | None = None, with_gates: bool = False
) -> Dashboard:
    """Everything the governance dashboard shows, from the database, in bounded queries.

    ``with_gates`` adds each phase's exit gate (two more queries: the deliverables and the
    metrics the phases own); the home page's rollout summary reads it without."""
    today = timezone.localdate()
    programme = programme or programme_current()
    if programme is None:
        return Dashboard(programme=None, today=today)
    dashboard = Dashboard(programme=programme, today=today)

    last_override = PhaseGateOverride.objects.filter(phase=OuterRef("pk")).order_by("-at", "-pk")
    phases = list(
        phase_list_with_progress(programme=programme)
        .select_related("completed_by")
        .annotate(
            override_at=Subquery(last_override.values("at")[:1]),
            override_reason=Subquery(last_override.values("reason")[:1]),
        )
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
                pk=phase.pk,
                status=phase.status,
                status_label=phase.get_status_display(),
                completed_at=phase.completed_at,
                completed_by=_user_name(phase.completed_by),
                # The override that completed it (not one of an earlier, reopened completion).
                override_reason=(
                    phase.override_reason or ""
                    if phase.completed_at
                    and phase.override_at
                    and phase.override_at >= phase.completed_at
                    else ""
                ),
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

    dashboard.metrics = _metric_rows(
        metrics=list(programme.success_metrics.order_by("order", "key"))
    )
    dashboard.metric_counts = {
        state: sum(1 for m in dashboard.metrics if m.state == state)
        for state in ("met", "not_met", "not_measured")
    }
    dashboard.metric_counts["stale"] = sum(1 for m in dashboard.metrics if m.stale)
    if with_gates:
        by_number = phase_gates(programme=programme, phases=phases, metric_rows=dashboard.metrics)
        for row in dashboard.phases:
            row.gate = by_number.get(row.number)
    return dashboard


# --- Phase gates -------------------------------------------------------------------------


def _user_name(user) -> str:
    if user is None:
        return ""
    return user.get_full_name() or user.get_username()


def _deliverable_fact(item: ChecklistItem) -> gates.DeliverableFact:
    return gates.DeliverableFact(
        key=item.key,
        title=item.title,
        closed=item.status in ChecklistItem.CLOSED,
        status_label=item.get_status_display(),
        evidence_summary=item.evidence_summary,
        url=reverse("admin:roadmap_checklistitem_change", args=[item.pk]),
        # FinHub's own evidence page first, else the link a person typed in.
        evidence_url=item.evidence_link or item.evidence_url,
    )


def _metric_fact(row: MetricRow) -> gates.MetricFact:
    return gates.MetricFact(
        key=row.key,
        name=row.name,
        state=row.state,
        stale=row.stale,
        latest_text=row.latest_text,
        target_text=row.target_text,
        last_measured_at=row.last_measured_at,
        url=metric_scorecard_url(row.key),
    )


def _deliverables(**filters) -> QuerySet[ChecklistItem]:
    return (
        ChecklistItem.objects.filter(kind=ChecklistItem.Kind.DELIVERABLE, **filters)
        .only(
            "pk",
            "key",
            "title",
            "status",
            "phase_id",
            "evidence_summary",
            "evidence_link",
            "evidence_url",
        )
        .order_by("order", "pk")
    )


def phase_gates(
    *,
    programme: Programme,
    phases: list[Phase] | None = None,
    metric_rows: list[MetricRow] | None = None,
) -> dict[int, gates.Gate]:
    """Every phase's gate, by phase number: two queries (the deliverables, the metrics each
    phase owns) given the phases and the scorecard rows; one more for each not given."""
    if phases is None:
        phases = list(programme.phases.order_by("number"))
    if metric_rows is None:
        metric_rows = _metric_rows(metrics=list(programme.success_metrics.all()))
    items: dict[int, list[ChecklistItem]] = {}
    for item in _deliverables(programme=programme):
        items.setdefault(item.phase_id, []).append(item)
    owned: dict[int, list[str]] = {}
    pairs = Phase.gate_metrics.through.objects.filter(phase__programme=programme)
    for phase_id, key in pairs.order_by("successmetric__order", "successmetric__key").values_list(
        "phase_id", "successmetric__key"
    ):
        owned.setdefault(phase_id, []).append(key)
    rows = {r.key: r for r in metric_rows}
    return {
        p.number: gates.gate_evaluate(
            phase_number=p.number,
            requires_deliverables=p.gate_requires_deliverables,
            deliverables=[_deliverable_fact(i) for i in items.get(p.pk, [])],
            metrics=[_metric_fact(rows[key]) for key in owned.get(p.pk, []) if key in rows],
        )
        for p in phases
    }


def phase_gate(*, phase: Phase) -> gates.Gate:
    """One phase's gate, from the database (three queries)."""
    metrics = list(phase.gate_metrics.order_by("order", "key"))
    rows = _metric_rows(metrics=metrics) if metrics else []
    return gates.gate_evaluate(
        phase_number=phase.number,
        requires_deliverables=phase.gate_requires_deliverables,
        deliverables=[_deliverable_fact(i) for i in _deliverables(phase=phase)],
        metrics=[_metric_fact(row) for row in rows],
    )


def phase_gate_overrides(*, phase: Phase) -> QuerySet[PhaseGateOverride]:
    return phase.gate_overrides.select_related("user").order_by("-at", "-pk")


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
