"""The values alert rules watch, read from what the engine already stores.

:func:`metric_values` gives every scoped item of a rule and its current value, read from the
stored metric snapshots (never computed here: a missing snapshot is no data), the open spend
anomalies, the connectors' sync state and reconciliations, and the scorecard's latest
measurements. A few queries per rule whatever the number of items.

Periods (``today`` = the local date of the evaluation):

* budget variance: the year-to-date budget-vs-actual snapshot (the executive page's; the
  latest stored one from 1 January);
* predicted overrun / outturn: the stored forecast of the current fiscal year;
* campaign / channel ROI and ROAS, CAC, LTV:CAC, payback, NRR, GRR, CS ROI: the snapshot of
  the last closed month (the dashboards keep it warm as "last month").

Ratios are shown in percent where the metric's label says % (ROI, NRR, GRR, CS ROI), values
are rounded half-up to 4 decimals (what an instance stores) and an undefined value
("undefined" in a snapshot) is ``None``: no data.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from decimal import ROUND_HALF_UP, Decimal

from django.db.models import OuterRef, Subquery
from django.utils import timezone

from alerts.models import AlertInstance, AlertRule
from connectors.models import Connector, SyncRun
from connectors.selectors import PULL_TRANSPORTS
from finhub.core.calendar import last_closed_month, month_period
from metrics.computations.attribution import GROUP_BY_CAMPAIGN, GROUP_BY_CHANNEL
from metrics.models import MetricSnapshot, SpendAnomaly
from metrics.params import (
    attribution_params,
    default_attribution_model,
    forecast_params,
    params_hash,
    period_params,
    subscriptions_params,
)
from metrics.reports.numbers import to_number
from metrics.selectors import NO_CAMPAIGN, NO_CHANNEL
from roadmap import selectors as roadmap

__all__ = ["COMPANY", "METRIC_SCOPES", "SourceError", "Values", "metric_values", "scope_problem"]

Metric, Scope = AlertRule.Metric, AlertRule.Scope
Kind = MetricSnapshot.Kind
#: scope key -> (the item's label, its value or None for no data).
Values = dict[str, tuple[str, Decimal | None]]

COMPANY = ("", "Company")
HUNDRED = Decimal(100)
PLACES = Decimal("0.0001")
COST_TYPES = ("cost_of_sales", "expense")
#: The scorecard metric behind the response-time rule (measured in seconds there).
RESPONSE_TIME_METRIC = "financial_query_response_time"


class SourceError(Exception):
    """The values of a rule could not be read (the rule's ``error_action`` applies)."""


#: The scopes each metric can be evaluated over (the first is the default).
METRIC_SCOPES: dict[str, tuple[str, ...]] = {
    Metric.BUDGET_VARIANCE_PCT: (Scope.DEPARTMENT, Scope.ACCOUNT, Scope.ALL),
    Metric.PREDICTED_OVERRUN_PCT: (Scope.DEPARTMENT, Scope.ACCOUNT, Scope.ALL),
    Metric.PREDICTED_OUTTURN: (Scope.DEPARTMENT, Scope.ACCOUNT, Scope.ALL),
    Metric.CAMPAIGN_ROI: (Scope.CAMPAIGN,),
    Metric.CHANNEL_ROI: (Scope.CHANNEL, Scope.ALL),
    Metric.CHANNEL_ROAS: (Scope.CHANNEL, Scope.ALL),
    Metric.BLENDED_CAC: (Scope.ALL,),
    Metric.PAID_CAC: (Scope.ALL, Scope.CHANNEL),
    Metric.LTV_CAC: (Scope.ALL,),
    Metric.PAYBACK_MONTHS: (Scope.ALL, Scope.CHANNEL),
    Metric.NRR: (Scope.ALL, Scope.SEGMENT),
    Metric.GRR: (Scope.ALL, Scope.SEGMENT),
    Metric.CS_ROI: (Scope.ALL, Scope.SEGMENT),
    Metric.SPEND_ANOMALY: (
        Scope.ANOMALY_SCOPE,
        Scope.CAMPAIGN,
        Scope.DEPARTMENT,
        Scope.ALL,
    ),
    Metric.SYNC_FAILURES: (Scope.CONNECTOR, Scope.ALL),
    Metric.SOURCE_STALE_HOURS: (Scope.CONNECTOR, Scope.ALL),
    Metric.RECONCILIATION_ACCURACY: (Scope.CONNECTOR, Scope.ALL),
    Metric.RESPONSE_TIME_P95: (Scope.ALL,),
    Metric.SCORECARD_VS_TARGET: (Scope.SCORECARD_METRIC,),
}


def scope_problem(metric: str, scope: str) -> str:
    """Why ``metric`` cannot be evaluated per ``scope`` ("" when it can)."""
    scopes = METRIC_SCOPES.get(metric)
    if scopes is None:
        return f"unknown metric {metric!r}"
    if scope in scopes:
        return ""
    names = ", ".join(str(Scope(s).label).lower() for s in scopes)
    return f"{Metric(metric).label} can be watched for: {names}"


def _dec(value: object) -> Decimal | None:
    number = to_number(value)
    return None if number is None else Decimal(number)


def _round(value: Decimal | None) -> Decimal | None:
    return None if value is None else value.quantize(PLACES, rounding=ROUND_HALF_UP)


def _pct(fraction: object) -> Decimal | None:
    value = _dec(fraction)
    return None if value is None else value * HUNDRED


def _change_pct(actual: Decimal, budget: Decimal) -> Decimal | None:
    """(actual - budget) / |budget| in percent; undefined without a budget."""
    return None if not budget else (actual - budget) / abs(budget) * HUNDRED


def _snapshots(requests: Iterable[tuple[str, dict]]) -> list[MetricSnapshot | None]:
    """The stored snapshots of ``requests`` in order (None where none is stored), one query.
    Never computes one: the nightly and after-sync recomputes and page views store them."""
    keys = [(kind, params_hash(params)) for kind, params in requests]
    found = {
        (s.kind, s.params_hash): s
        for s in MetricSnapshot.objects.filter(
            kind__in={k for k, _ in keys}, params_hash__in={h for _, h in keys}
        )
    }
    return [found.get(key) for key in keys]


def _snapshot(kind: str, params: dict) -> MetricSnapshot | None:
    return _snapshots([(kind, params)])[0]


def _last_month(today: dt.date):
    return month_period(last_closed_month(today))


# --- budget and forecast ---------------------------------------------------------------------


def _exact(row: dict, field: str) -> Decimal:
    return _dec(row.get("exact", {}).get(field, row.get(field))) or Decimal(0)


def _ytd_budget_snapshot(group_by: str, today: dt.date) -> MetricSnapshot | None:
    """The latest stored budget-vs-actual snapshot from 1 January of this year (current
    budget version): today's year to date once the dashboards' warm-up stored it, else the
    latest day (or month end) before it. One query on the snapshot period index."""
    stored = MetricSnapshot.objects.filter(
        kind=Kind.BUDGET_VARIANCE,
        period_start=dt.date(today.year, 1, 1),
        period_end__lte=today,
        group_by=group_by,
    ).order_by("-period_end", "-computed_at")
    for snapshot in stored.iterator(chunk_size=20):
        if snapshot.params.get("budget") is None:
            return snapshot
    return None


def _budget_variance(scope: str, today: dt.date) -> Values:
    """Year-to-date actual vs budget, (actual - budget) / |budget| in % (positive: above
    budget). A department and the company: their costs (cost of sales + expenses); an
    account: its own lines."""
    group_by = "account" if scope == Scope.ACCOUNT else "department"
    snapshot = _ytd_budget_snapshot(group_by, today)
    if snapshot is None:
        return {COMPANY[0]: (COMPANY[1], None)} if scope == Scope.ALL else {}
    sums: dict[str, list] = {}
    for row in snapshot.result.get("rows", []):
        if scope != Scope.ACCOUNT and row.get("account_type") not in COST_TYPES:
            continue
        key, label = COMPANY if scope == Scope.ALL else (row["key"], row["label"])
        item = sums.setdefault(key, [label, Decimal(0), Decimal(0)])
        item[1] += _exact(row, "actual")
        item[2] += _exact(row, "budget")
    if scope == Scope.ALL and not sums:
        sums[COMPANY[0]] = [COMPANY[1], Decimal(0), Decimal(0)]
    return {key: (label, _change_pct(a, b)) for key, (label, a, b) in sums.items()}


def _forecast(scope: str, today: dt.date, *, outturn: bool) -> Values:
    """The stored forecast of this fiscal year: predicted full-year outturn, or its variance
    to the full-year budget in % (positive: an overrun). A department and the company: their
    costs (cost of sales + expenses, summed over the forecast's groups); an account: its
    series summed over the departments."""
    params = forecast_params(fiscal_year=today.year)
    snapshot = _snapshot(Kind.FORECAST, params)
    if snapshot is None:
        return {COMPANY[0]: (COMPANY[1], None)} if scope == Scope.ALL else {}
    level = {Scope.DEPARTMENT: "department", Scope.ACCOUNT: "series"}.get(scope, "account_type")
    sums: dict[str, list] = {}
    for group in snapshot.result.get("groups", []):
        if group.get("level") != level:
            continue
        if scope != Scope.ACCOUNT and group.get("account_type") not in COST_TYPES:
            continue
        if scope == Scope.DEPARTMENT:
            key, label = group["department"], group["department_label"]
        elif scope == Scope.ACCOUNT:
            key = group["account"]
            label = f"{group['account']} {group['account_label']}".strip()
        else:
            key, label = COMPANY
        item = sums.setdefault(key, [label, Decimal(0), Decimal(0)])
        item[1] += _dec(group.get("predicted_outturn")) or Decimal(0)
        item[2] += _dec(group.get("full_year_budget")) or Decimal(0)
    if scope == Scope.ALL and not sums:
        return {COMPANY[0]: (COMPANY[1], None)}
    return {
        key: (label, predicted if outturn else _change_pct(predicted, budget))
        for key, (label, predicted, budget) in sums.items()
    }


# --- marketing, unit economics, retention ----------------------------------------------------


def _roi_params(period, group_by: str) -> dict:
    return attribution_params(
        model=default_attribution_model(), group_by=group_by, start=period.start, end=period.end
    )


def _campaign_roi(scope: str, today: dt.date) -> Values:
    """Campaign ROI in %, **the larger of the last two closed months' ROI** (default
    attribution model): below 0 means it was below 0 in both months, so "ROI below 0 for two
    months" is one comparison with no pending count. A campaign without a defined ROI in
    either month (no cost, or no snapshot stored for that month) has no data."""
    last = _last_month(today)
    before = last.prior()
    snapshots = _snapshots(
        [
            (Kind.CAMPAIGN_ROI, _roi_params(before, GROUP_BY_CAMPAIGN)),
            (Kind.CAMPAIGN_ROI, _roi_params(last, GROUP_BY_CAMPAIGN)),
        ]
    )
    months: list[dict[str, Decimal | None]] = [
        {}
        if snapshot is None
        else {row["key"]: _dec(row.get("roi")) for row in snapshot.result.get("rows", [])}
        for snapshot in snapshots
    ]
    values: Values = {}
    for key in sorted(set(months[0]) | set(months[1])):
        if key == NO_CAMPAIGN:
            continue
        rois = [month.get(key) for month in months]
        defined = [roi for roi in rois if roi is not None]
        value = max(defined) * HUNDRED if len(defined) == 2 else None
        values[key] = (key, value)
    return values


def _channel_roi(scope: str, today: dt.date, *, field: str) -> Values:
    """Channel ROI (in %) or ROAS of the last closed month; the company: all channels'
    cost and attributed revenue together."""
    snapshot = _snapshot(Kind.CAMPAIGN_ROI, _roi_params(_last_month(today), GROUP_BY_CHANNEL))
    rows = [] if snapshot is None else snapshot.result.get("rows", [])
    if scope == Scope.ALL:
        cost = sum((_dec(row.get("cost")) or Decimal(0) for row in rows), Decimal(0))
        revenue = sum((_dec(row.get("revenue")) or Decimal(0) for row in rows), Decimal(0))
        if snapshot is None or not cost:
            return {COMPANY[0]: (COMPANY[1], None)}
        value = (revenue - cost) / cost * HUNDRED if field == "roi" else revenue / cost
        return {COMPANY[0]: (COMPANY[1], value)}
    scale = HUNDRED if field == "roi" else Decimal(1)
    values: Values = {}
    for row in rows:
        if row["key"] == NO_CHANNEL:
            continue
        value = _dec(row.get(field))
        values[row["key"]] = (row["key"], None if value is None else value * scale)
    return values


CAC_FIELDS = {
    Metric.BLENDED_CAC: ("blended_cac", ""),
    Metric.PAID_CAC: ("paid_cac", "channel_cac"),
    Metric.LTV_CAC: ("ltv_to_cac", ""),
    Metric.PAYBACK_MONTHS: ("payback_months", "channel_payback_months"),
}


def _cac(metric: str, scope: str, today: dt.date) -> Values:
    """Blended / paid CAC, LTV:CAC and payback of the last closed month (its CAC snapshot's
    month row); per channel: the channel's CAC (paid CAC) or payback."""
    period = _last_month(today)
    snapshot = _snapshot(Kind.CAC, period_params(start=period.start, end=period.end))
    months = [] if snapshot is None else snapshot.result.get("months", [])
    row = next((r for r in months if r.get("month") == period.start.isoformat()), None)
    field, channel_field = CAC_FIELDS[metric]
    if scope == Scope.CHANNEL:
        if row is None:
            return {}
        return {
            channel: (channel, _dec(value))
            for channel, value in row.get(channel_field, {}).items()
            if channel != NO_CHANNEL
        }
    return {COMPANY[0]: (COMPANY[1], None if row is None else _dec(row.get(field)))}


def _retention(metric: str, scope: str, today: dt.date) -> Values:
    """NRR / GRR of the last closed month in % (its subscriptions snapshot's month row);
    per segment: the segment snapshots stored for that month (a page or API filter stored
    them; a segment never asked for has no instance)."""
    period = _last_month(today)
    field = "nrr_month" if metric == Metric.NRR else "grr_month"

    def value(snapshot: MetricSnapshot | None) -> Decimal | None:
        months = [] if snapshot is None else snapshot.result.get("months", [])
        row = next((r for r in months if r.get("month") == period.start.isoformat()), None)
        return None if row is None else _pct(row.get(field))

    if scope == Scope.ALL:
        params = subscriptions_params(start=period.start, end=period.end)
        return {COMPANY[0]: (COMPANY[1], value(_snapshot(Kind.SUBSCRIPTIONS, params)))}
    stored = MetricSnapshot.objects.filter(
        kind=Kind.SUBSCRIPTIONS, period_start=period.start, period_end=period.end
    )
    values: Values = {}
    for snapshot in stored:
        segment = snapshot.params.get("segment")
        if segment is not None and snapshot.params.get("channel") is None:
            values[segment] = (segment or "(no segment)", value(snapshot))
    return values


def _cs_roi(scope: str, today: dt.date) -> Values:
    """Customer-success ROI of the last closed month in %, total or per segment."""
    period = _last_month(today)
    snapshot = _snapshot(Kind.CS_ROI, period_params(start=period.start, end=period.end))
    if scope == Scope.ALL:
        total = None if snapshot is None else snapshot.result.get("total", {}).get("roi")
        return {COMPANY[0]: (COMPANY[1], _pct(total))}
    segments = [] if snapshot is None else snapshot.result.get("segments", [])
    return {
        row["segment"]: (row["segment"] or "(no segment)", _pct(row.get("roi"))) for row in segments
    }


# --- anomalies, connectors, scorecard --------------------------------------------------------


def _spend_anomaly(rule: AlertRule, scope: str) -> Values:
    """The largest |score| (robust z-score) of the open spend anomalies of each series
    (``kind:scope key``), campaign (campaign spend), department (GL expense) or of all of
    them. An item with no open anomaly (dismissed, or no longer flagged) has the value 0, so
    it resolves rather than turning into no data."""
    rows = SpendAnomaly.objects.filter(status=SpendAnomaly.Status.OPEN)
    if scope == Scope.CAMPAIGN:
        rows = rows.filter(kind=SpendAnomaly.Kind.CAMPAIGN_SPEND)
    elif scope == Scope.DEPARTMENT:
        rows = rows.filter(kind=SpendAnomaly.Kind.GL_EXPENSE)
    values: dict[str, tuple[str, Decimal]] = {}
    for kind, key, label, score, department in rows.values_list(
        "kind", "scope_key", "label", "score", "department__name"
    ):
        if scope == Scope.ANOMALY_SCOPE:
            item = (f"{kind}:{key}", label)
        elif scope == Scope.CAMPAIGN:
            item = (key, label)
        elif scope == Scope.DEPARTMENT:
            item = (key.split("|", 1)[0], department or key.split("|", 1)[0])
        else:
            item = COMPANY
        size = abs(Decimal(score))
        if item[0] not in values or values[item[0]][1] < size:
            values[item[0]] = (item[1], size)
    known: Iterable[tuple[str, str]] = (
        [COMPANY]
        if scope == Scope.ALL
        else AlertInstance.objects.filter(rule=rule).values_list("scope_key", "scope_label")
    )
    for key, label in known:
        values.setdefault(key, (label, Decimal(0)))
    return dict(values)


def _connectors(metric: str, scope: str, now: dt.datetime) -> Values:
    """Per pull connector (enabled ones): failed syncs in a row, hours since the last good
    sync (no data if it never synced) or the matched % of its latest reconciliation. The
    company: the worst connector (most failures, stalest, lowest accuracy)."""
    connectors = Connector.objects.filter(transport__in=PULL_TRANSPORTS, enabled=True)
    if metric == Metric.RECONCILIATION_ACCURACY:
        latest = SyncRun.objects.filter(
            connector=OuterRef("pk"), reconciliation_matched_pct__isnull=False
        ).order_by("-created_at", "-id")
        connectors = connectors.annotate(
            accuracy=Subquery(latest.values("reconciliation_matched_pct")[:1])
        )
    values: Values = {}
    for connector in connectors.order_by("name"):
        if metric == Metric.SYNC_FAILURES:
            value: Decimal | None = Decimal(connector.consecutive_failures)
        elif metric == Metric.SOURCE_STALE_HOURS:
            last = connector.last_success_at
            value = None if last is None else Decimal((now - last).total_seconds()) / Decimal(3600)
        else:
            value = _dec(connector.accuracy)
        values[connector.slug or str(connector.pk)] = (connector.name, value)
    if scope != Scope.ALL:
        return values
    defined = [v for _, v in values.values() if v is not None]
    worst = (min if metric == Metric.RECONCILIATION_ACCURACY else max)(defined, default=None)
    return {COMPANY[0]: (COMPANY[1], worst)}


def _response_time() -> Values:
    """The scorecard's latest financial query response time p95, in milliseconds (the
    scorecard measures seconds)."""
    latest = roadmap.metric_latest_measurements(keys=[RESPONSE_TIME_METRIC])
    seconds = latest.get(RESPONSE_TIME_METRIC, {}).get("value")
    return {COMPANY[0]: (COMPANY[1], None if seconds is None else Decimal(seconds) * 1000)}


def _scorecard() -> Values:
    """Each scorecard metric's shortfall against its target: latest measurement - target
    for "at most" metrics, target - latest for "at least" ones, so above 0 means the target
    is missed (the built-in "CAC above its scorecard target" is ``blended_cac`` > 0). No
    measurement yet: no data."""
    metrics = list(roadmap.metric_list())
    latest = roadmap.metric_latest_measurements(keys=[m.key for m in metrics])
    values: Values = {}
    for metric in metrics:
        measured = latest.get(metric.key, {}).get("value")
        if measured is None:
            value = None
        elif metric.direction == "at_most":
            value = Decimal(measured) - metric.target_value
        else:
            value = metric.target_value - Decimal(measured)
        values[metric.key] = (metric.name, value)
    return values


def _read(rule: AlertRule, today: dt.date, now: dt.datetime) -> Values:
    metric, scope = rule.metric, rule.scope
    readers: dict[str, Callable[[], Values]] = {
        Metric.BUDGET_VARIANCE_PCT: lambda: _budget_variance(scope, today),
        Metric.PREDICTED_OVERRUN_PCT: lambda: _forecast(scope, today, outturn=False),
        Metric.PREDICTED_OUTTURN: lambda: _forecast(scope, today, outturn=True),
        Metric.CAMPAIGN_ROI: lambda: _campaign_roi(scope, today),
        Metric.CHANNEL_ROI: lambda: _channel_roi(scope, today, field="roi"),
        Metric.CHANNEL_ROAS: lambda: _channel_roi(scope, today, field="roas"),
        Metric.NRR: lambda: _retention(metric, scope, today),
        Metric.GRR: lambda: _retention(metric, scope, today),
        Metric.CS_ROI: lambda: _cs_roi(scope, today),
        Metric.SPEND_ANOMALY: lambda: _spend_anomaly(rule, scope),
        Metric.RESPONSE_TIME_P95: _response_time,
        Metric.SCORECARD_VS_TARGET: _scorecard,
    }
    for name in CAC_FIELDS:
        readers[name] = lambda name=name: _cac(name, scope, today)
    for name in (Metric.SYNC_FAILURES, Metric.SOURCE_STALE_HOURS, Metric.RECONCILIATION_ACCURACY):
        readers[name] = lambda name=name: _connectors(name, scope, now)
    return readers[metric]()


def _narrowed(values: Values, wanted: str) -> Values:
    """The one item whose key or label is ``wanted`` (case-insensitive)."""
    wanted = wanted.strip().casefold()
    return {
        key: item
        for key, item in values.items()
        if key.casefold() == wanted or item[0].casefold() == wanted
    }


def metric_values(rule: AlertRule, *, now: dt.datetime | None = None) -> Values:
    """Every scoped item of ``rule`` and its current value (None: no data), narrowed to one
    item by ``scope_filter``. Raises :class:`SourceError` when the values cannot be read."""
    problem = scope_problem(rule.metric, rule.scope)
    if problem:
        raise SourceError(problem)
    now = now or timezone.now()
    try:
        values = _read(rule, timezone.localdate(now), now)
    except Exception as exc:  # any failure to read becomes the rule's error state
        raise SourceError(f"{type(exc).__name__}: {exc}"[:500]) from exc
    if rule.scope_filter:
        values = _narrowed(values, rule.scope_filter)
    return {key: (label[:300], _round(value)) for key, (label, value) in values.items()}
