"""Incremental recompute: redo only the stored snapshots that the changed months feed.

Every write of the ingestion path announces the months it changed per table
(``records.signals.records_changed``); :func:`changes_record` keeps them as
:class:`ChangedMonth` rows in the write's transaction. The debounced after-sync recompute
(:func:`metrics_recompute_changed`) claims the rows it reads, recomputes each stored snapshot
whose inputs (:func:`dependencies`) overlap a claimed month, computes the snapshots the
dashboards open on if any is missing, pushes the scorecard measurements when the default
period's reports changed, and only then deletes the claimed rows: a failure leaves them for
the next run. The nightly run recomputes everything as before (the safety net) and then the
rest of what the claimed rows concern.

Dependencies are by month and table. A snapshot of ``[start, end]`` reads each fact table
over a window of months (the period itself, the attribution lookback before it, the whole
history up to its end for MRR-based reports, the calendar year of its end for budget vs
actual's outturn…); a change to a table without months (accounts, customers, campaigns,
channels, contacts…), a fact table's change not tied to months, or a table not listed
here concerns every snapshot. Forecasts are left to their own task, which recomputes them
when the ledger or budgets changed.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from django.db import transaction
from django.utils import timezone

from finhub.core.calendar import month_of, twelve_months_to_date
from metrics.ledger_aggregates import ledger_aggregates_refresh
from metrics.models import ChangedMonth, MetricSnapshot
from metrics.params import DEFAULT_LOOKBACK, params_dates, params_hash, period_params
from metrics.reports.budget import ledger_shared
from metrics.snapshots import (
    ATTRIBUTION_REPORTS,
    Kind,
    Request,
    period_requests,
    snapshots_recompute,
    warm_requests,
)
from records import models as m

logger = logging.getLogger(__name__)

#: An inclusive range of months (first days); None = unbounded on that side.
Window = tuple[dt.date | None, dt.date | None]
EVERY: Window = (None, None)
DAY = dt.timedelta(days=1)


def table(model: type) -> str:
    return model._meta.label_lower


GL, INVOICE, BUDGET_LINE = table(m.GLLine), table(m.Invoice), table(m.BudgetLine)
SPEND, TOUCHPOINT, QUOTA = table(m.CampaignSpend), table(m.Touchpoint), table(m.Quota)
DEAL, EVENT, FX = table(m.Deal), table(m.SubscriptionEvent), table(m.FxRate)
INITIATIVE_COST, INITIATIVE_BENEFIT = table(m.InitiativeCost), table(m.InitiativeBenefit)
#: The tables whose rows belong to months; a change to any other table concerns everything.
FACT_TABLES = frozenset(
    {GL, INVOICE, BUDGET_LINE, SPEND, TOUCHPOINT, QUOTA, DEAL, EVENT, FX}
    | {INITIATIVE_COST, INITIATIVE_BENEFIT}
)
#: The revenue attribution accuracy measurement: attribution's inputs and the invoices its
#: ERP check reads (of any date).
ACCURACY_KIND = "revenue_attribution_accuracy"


def dependencies(kind: str, params: dict) -> dict[str, Window]:
    """Fact table -> the months of it a snapshot of ``(kind, params)`` reads (tables absent:
    not read). Follows what ``metrics.reports`` select; when in doubt, every month."""
    start, end = params_dates(params)
    period: Window = (month_of(start), month_of(end))
    history: Window = (None, month_of(end))  # MRR: every event up to the period's end
    if kind in ATTRIBUTION_REPORTS or kind in (Kind.ATTRIBUTION_DAYS, ACCURACY_KIND):
        lookback = dt.timedelta(days=int(params.get("lookback_days", DEFAULT_LOOKBACK.days)))
        # Deals closed in the period, the touchpoints ``lookback`` before them; a day of
        # margin for the local time zone (touchpoints are compared as local date-times).
        reach: Window = (month_of(start - lookback - DAY), month_of(end))
        deps = {TOUCHPOINT: reach, DEAL: period, FX: reach}
        if kind == Kind.CAMPAIGN_ROI:
            deps[SPEND] = period
        if kind == ACCURACY_KIND:
            deps[INVOICE] = EVERY
        return deps
    if kind == Kind.CAC:
        return {GL: period, SPEND: period, EVENT: history, FX: history}
    if kind == Kind.SALES:
        # Deals closed or opened in the period, quotas within it; a won deal's invoices (and
        # their rates) may be of any date.
        return {DEAL: period, QUOTA: period, GL: period, INVOICE: EVERY, FX: EVERY}
    if kind == Kind.BUDGET_VARIANCE:
        # The outturn covers the calendar year of the period's end.
        year: Window = (
            month_of(min(start, dt.date(end.year, 1, 1))),
            month_of(max(end, dt.date(end.year, 12, 1))),
        )
        return {GL: year, BUDGET_LINE: year, FX: year}
    if kind in (Kind.SUBSCRIPTIONS, Kind.SUBSCRIPTION_CUSTOMERS, Kind.COHORTS, Kind.CS_ROI):
        return {EVENT: history, FX: history, GL: period, SPEND: period}
    # Initiative ROI reads from each initiative's earliest day; forecasts and anything else:
    # every month of every table.
    return dict.fromkeys(FACT_TABLES, EVERY)


@dataclass
class Changes:
    """The claimed marks, folded: table -> months (None: every month)."""

    ids: list[int] = field(default_factory=list)
    months: dict[str, set[dt.date] | None] = field(default_factory=dict)
    everything: bool = False  # a table without months changed

    def __bool__(self) -> bool:
        return bool(self.ids)

    def add(self, table_label: str, month: dt.date | None) -> None:
        if table_label not in FACT_TABLES:
            self.everything = True
        elif month is None:
            self.months[table_label] = None
        else:
            months = self.months.setdefault(table_label, set())
            if months is not None:
                months.add(month)

    def concern(self, deps: dict[str, Window]) -> bool:
        """Whether any change falls in the windows ``deps``."""
        if self.everything:
            return True
        for table_label, (low, high) in deps.items():
            if table_label not in self.months:
                continue
            months = self.months[table_label]
            if months is None:
                return True
            if any(_within(month, low, high) for month in months):
                return True
        return False

    def changed_months(self) -> set[dt.date] | None:
        """Every month changed, whatever the table (None: every month)."""
        if self.everything or any(months is None for months in self.months.values()):
            return None
        return set().union(*self.months.values()) if self.months else set()

    def describe(self) -> str:
        if self.everything:
            return "every month of every table"
        return "; ".join(
            f"{label}: "
            + ("every month" if months is None else ", ".join(f"{m:%Y-%m}" for m in sorted(months)))
            for label, months in sorted(self.months.items())
        )


def _within(month: dt.date, low: dt.date | None, high: dt.date | None) -> bool:
    return (low is None or month >= low) and (high is None or month <= high)


# --- marks ---------------------------------------------------------------------------------


def changes_record(*, model: type, months: Iterable[dt.date] | None) -> None:
    """Keep the months a write changed (one row per month; None = every month), in the
    write's transaction: rolled back with it, committed with it."""
    label = table(model)
    chosen = [None] if months is None else sorted(set(months))
    ChangedMonth.objects.bulk_create([ChangedMonth(table=label, month=month) for month in chosen])


def changes_claim() -> Changes:
    """The committed marks, folded (the rows are kept until :func:`changes_clear`)."""
    changes = Changes()
    for pk, table_label, month in ChangedMonth.objects.values_list("pk", "table", "month"):
        changes.ids.append(pk)
        changes.add(table_label, month)
    return changes


def changes_clear(changes: Changes, chunk: int = 5000) -> None:
    """Delete exactly the claimed marks (those written since stay for the next run)."""
    for start in range(0, len(changes.ids), chunk):
        ChangedMonth.objects.filter(pk__in=changes.ids[start : start + chunk]).delete()


# --- the recompute -------------------------------------------------------------------------


def snapshots_concerned(
    changes: Changes, *, exclude: Iterable[tuple[str, str]] = ()
) -> list[Request]:
    """The stored snapshots (but forecasts) the changes concern, as requests; the keys
    ``(kind, params_hash)`` in ``exclude`` are left out (recomputed already)."""
    if not changes:
        return []
    skip = set(exclude)
    rows = MetricSnapshot.objects.exclude(kind=Kind.FORECAST).values_list(
        "kind", "params", "params_hash"
    )
    return [
        (kind, params)
        for kind, params, key in rows.iterator(chunk_size=2000)
        if (kind, key) not in skip and changes.concern(dependencies(kind, params))
    ]


def default_requests(*, today: dt.date | None) -> list[Request]:
    """What the nightly run stores: the default period's snapshots and the warm set."""
    today = today or timezone.localdate()
    start, end = twelve_months_to_date(today)
    return [*period_requests(start=start, end=end), *warm_requests(today=today)]


def _missing(requests: Sequence[Request]) -> list[Request]:
    keys = {(kind, params_hash(params)): (kind, params) for kind, params in requests}
    stored = set(
        MetricSnapshot.objects.filter(
            kind__in={k for k, _h in keys}, params_hash__in={h for _k, h in keys}
        ).values_list("kind", "params_hash")
    )
    return [request for key, request in keys.items() if key not in stored]


#: The order reports are redone in: what the executive page reads first (budget vs actual,
#: CAC, attribution), initiative ROI (any change concerns it) last.
ORDER = [
    (Kind.BUDGET_VARIANCE,),
    (Kind.CAC,),
    # Together: one read of their inputs per period (the per-day one reads its own).
    (Kind.ATTRIBUTION, Kind.CAMPAIGN_ROI, Kind.ATTRIBUTION_DAYS),
    (Kind.SALES,),
    (Kind.SUBSCRIPTIONS, Kind.SUBSCRIPTION_CUSTOMERS, Kind.COHORTS, Kind.CS_ROI),
]


def _recompute_in_order(
    requests: Sequence[Request], *, today: dt.date, changes: Changes
) -> tuple[list[MetricSnapshot], dict[str, str]]:
    """Recompute ``requests`` group by group (:data:`ORDER`, anything else last); in each,
    the dashboards' usual periods first, those containing a changed month next, shorter
    periods (a month's page) before longer ones, the department grouping (the executive
    page's) first. Returns the stored snapshots and, per group, how many and how long."""
    warm = {(kind, params_hash(params)) for kind, params in warm_requests(today=today)}
    rank = {kind: position for position, kinds in enumerate(ORDER) for kind in kinds}
    changed = changes.changed_months()

    def urgency(request: Request) -> tuple:
        kind, params = request
        start, end = params_dates(params)
        touched = changed is None or any(_within(m, month_of(start), end) for m in changed)
        return (
            (kind, params_hash(params)) not in warm,
            not touched,
            (end - start).days,
            params.get("group_by") != "department",
            -end.toordinal(),
        )

    groups: dict[int, list[Request]] = {}
    for request in requests:
        groups.setdefault(rank.get(request[0], len(ORDER)), []).append(request)
    stored: list[MetricSnapshot] = []
    timings: dict[str, str] = {}
    for position in sorted(groups):
        group = sorted(groups[position], key=urgency)
        began = time.perf_counter()
        # Budget reports of one year share one read of its ledger (the outturn's year).
        with ledger_shared():
            stored += snapshots_recompute(group)
        label = "+".join(sorted({kind for kind, _params in group}))
        timings[label] = f"{len(group)} in {time.perf_counter() - began:.2f} s"
    return stored, timings


def metrics_recompute_changed(
    *,
    today: dt.date | None = None,
    exclude: Iterable[tuple[str, str]] = (),
    compute_missing: bool = True,
    push_measurements: bool = True,
) -> dict:
    """Recompute the stored snapshots the changes since the last run concern, and the
    default / warm ones that are missing (a new day's periods); push the scorecard
    measurements if the default period's reports were among them. ``exclude``: keys
    recomputed already by the caller; ``compute_missing=False``: only what is stored.
    Returns counts and seconds."""
    from metrics.services import scorecard_push_stored

    started = time.perf_counter()
    today = today or timezone.localdate()
    changes = changes_claim()
    # The ledger pre-aggregates first: the budget reports below read them.
    ledger_aggregates_refresh()
    skip = set(exclude)
    concerned = snapshots_concerned(changes, exclude=skip)
    skip |= {(kind, params_hash(params)) for kind, params in concerned}
    missing = [
        (kind, params)
        for kind, params in (_missing(default_requests(today=today)) if compute_missing else [])
        if (kind, params_hash(params)) not in skip
    ]
    stored, by_kind = _recompute_in_order([*concerned, *missing], today=today, changes=changes)
    snapshots_seconds = time.perf_counter() - started
    pushed: list[str] = []
    start, end = twelve_months_to_date(today)
    default = {(k, params_hash(p)) for k, p in period_requests(start=start, end=end)}
    if push_measurements and any((s.kind, s.params_hash) in default for s in stored):
        accuracy = changes.concern(dependencies(ACCURACY_KIND, period_params(start=start, end=end)))
        pushed = scorecard_push_stored(start=start, end=end, with_accuracy=accuracy)
    with transaction.atomic():
        changes_clear(changes)
    summary = {
        "changes": len(changes.ids),
        "changed": changes.describe(),
        "recomputed": len(concerned),
        "missing_computed": len(missing),
        "stored": MetricSnapshot.objects.count(),
        "measurements": pushed,
        "by_kind": by_kind,
        "snapshots_seconds": round(snapshots_seconds, 2),
        "seconds": round(time.perf_counter() - started, 2),
    }
    logger.info("incremental recompute: %s", summary)
    return summary
