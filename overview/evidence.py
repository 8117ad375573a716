"""The facts the roadmap's evidence checks read, gathered from the apps' public reads.

``roadmap/evidence.py`` holds the checks (plain Python over :class:`EvidenceFacts`); this
module feeds them — the connectors FinHub pulls from (``connectors.selectors``), the newest
stored metrics report of each kind that holds figures (``metrics`` snapshots), the alert
rules and their evaluations (``alerts.selectors``) — and hands the facts to
``roadmap.services``, which stores the answers. The roadmap itself depends on none of the
apps it observes. A fixed number of queries whatever the data.
"""

from __future__ import annotations

import datetime as dt

from django.db.models import Q
from django.utils import timezone

from alerts.selectors import alerting_summary
from closing.selectors import close_automation_latest
from connectors.selectors import source_freshness
from metrics.models import MetricSnapshot
from reports.definitions import REPORTS
from reports.selectors import delivery_summary
from roadmap.evidence import (
    AlertingFact,
    CloseFact,
    EvidenceFacts,
    ReportFact,
    ReportingFact,
    SourceFact,
)
from roadmap.services import EvidenceRefresh, checklist_evidence_refresh

Kind = MetricSnapshot.Kind
UNDEFINED = "undefined"

# A stored report "holds figures" when… (JSON lookups, portable to SQLite and PostgreSQL).
HAS_FIGURES: dict[str, Q] = {
    Kind.ATTRIBUTION: Q(result__attributed_count__gt=0),
    Kind.CAMPAIGN_ROI: ~Q(result__tracking_capability__in=[UNDEFINED, "0"]),
    Kind.BUDGET_VARIANCE: Q(result__rows__0__isnull=False),
    Kind.SALES: Q(result__won_deals__gt=0),
    Kind.CAC: Q(result__months__0__isnull=False),
    Kind.CS_ROI: Q(result__total__months__0__isnull=False) & ~Q(result__total__roi=UNDEFINED),
    Kind.INITIATIVE_ROI: Q(result__initiatives__0__isnull=False),
}


def _period(snapshot: MetricSnapshot) -> str:
    return f"{snapshot.period_start:%d %b %Y} to {snapshot.period_end:%d %b %Y}"


def _detail(snapshot: MetricSnapshot) -> str | None:
    """What the figures are, in words; None when the report turns out to hold none."""
    result, params = snapshot.result, snapshot.params
    if snapshot.kind == Kind.ATTRIBUTION:
        model = str(params.get("model", "")).replace("_", " ")
        return f"{result['attributed_count']:,} won deals attributed ({model} model)"
    if snapshot.kind == Kind.CAMPAIGN_ROI:
        share = result.get("tracking_capability_percent", UNDEFINED)
        share = share if share == UNDEFINED else f"{float(share):.0f}%"
        return f"an ROI for {share} of the campaigns with spend"
    if snapshot.kind == Kind.BUDGET_VARIANCE:
        grouping = str(params.get("group_by", "")).replace("_", " ")
        return f"budget vs actual on {len(result['rows'])} rows by {grouping}"
    if snapshot.kind == Kind.SALES:
        return f"{result['won_deals']:,} won deals analysed"
    if snapshot.kind == Kind.CAC:
        months = [
            row
            for row in result.get("months", [])
            if row.get("blended_cac") not in (None, UNDEFINED)
        ]
        return f"blended CAC for {len(months)} month(s)" if months else None
    if snapshot.kind == Kind.CS_ROI:
        segments = [row for row in result.get("segments", []) if row.get("roi") != UNDEFINED]
        return f"customer-success ROI for the company and {len(segments)} segment(s)"
    if snapshot.kind == Kind.INITIATIVE_ROI:
        initiatives = result.get("initiatives", [])
        paid_back = sum(1 for row in initiatives if row.get("payback_month"))
        return f"ROI for {len(initiatives)} initiative(s), {paid_back} paid back"
    return None


def report_facts() -> dict[str, ReportFact]:
    """The newest stored report of each kind that holds figures (one query per kind)."""
    facts = {}
    for kind, has_figures in HAS_FIGURES.items():
        snapshot = (
            MetricSnapshot.objects.filter(has_figures, kind=kind).order_by("-computed_at").first()
        )
        if snapshot is None:
            continue
        detail = _detail(snapshot)
        if detail is not None:
            facts[kind] = ReportFact(
                kind=kind,
                computed_at=timezone.localtime(snapshot.computed_at),
                period=_period(snapshot),
                detail=detail,
            )
    return facts


def evidence_facts(*, now: dt.datetime | None = None) -> EvidenceFacts:
    """Everything the evidence checks read, as plain data."""
    now = now or timezone.now()
    sources = tuple(
        SourceFact(
            name=source.name,
            kind=source.kind,
            kind_label=source.kind_label,
            last_success_at=(
                timezone.localtime(source.last_success_at) if source.last_success_at else None
            ),
            status_label=source.status_label,
        )
        for source in source_freshness(now)
    )
    enabled, notifying, evaluated = alerting_summary()
    alerting = AlertingFact(
        enabled_rules=enabled,
        notifying_rules=notifying,
        last_evaluated_at=timezone.localtime(evaluated) if evaluated else None,
    )
    return EvidenceFacts(
        checked_at=now,
        sources=sources,
        reports=report_facts(),
        alerting=alerting,
        close=_close_fact(),
        reporting=_reporting_fact(),
    )


def _local(moment: dt.datetime | None) -> dt.datetime | None:
    return timezone.localtime(moment) if moment else None


def _close_fact() -> CloseFact | None:
    latest = close_automation_latest()
    if latest is None:
        return None
    close, automated = latest
    return CloseFact(
        month=f"{close.month:%Y-%m}",
        automated_tasks=automated,
        pack_delivered_at=_local(close.pack_delivered_at),
        locked_at=_local(close.locked_at),
    )


def _reporting_fact() -> ReportingFact:
    deliveries, last = delivery_summary()
    return ReportingFact(
        deliveries=deliveries, last_delivered_at=_local(last), report_definitions=len(REPORTS)
    )


def roadmap_evidence_refresh() -> EvidenceRefresh:
    """Check every checklist item's evidence now and store the answers."""
    return checklist_evidence_refresh(facts=evidence_facts())
