"""A custom period's report cut from a stored whole-history one, instead of computed.

Some reports are sums or tables over parts of the period that do not depend on the period:

- **month tables**: the CAC, subscriptions and cohorts reports are one row per month
  (cohorts: per cohort month, with a figure per month since), and a month's row is the same
  in every report that has that month — it reads whole months of cost and spend, and the
  subscription history from the first event up to the month's end, never the period's edges
  (a cohort's retention at a month end does not depend on the months after it); CS ROI is
  built from per-month figures it stores (``month_figures``: MRR movements per segment, CS
  cost), so a period's is rebuilt from a longer report's months and baseline months;
- **attribution per close day**: every model but markov credits a won deal from its own
  contact's touchpoints, so a period's attribution is the sum of its close days' credits
  (``metrics.reports.attribution_days``), kept as its own snapshot kind.

So the report of a period nobody asked for before is cut from a stored report of the same
kind (attribution: the per-day one) and parameters but the dates, covering the period,
provided that one is current — no data change it reads is still waiting for the recompute
(``metrics.incremental``'s marks) — and left no amount out for want of an FX rate (its
missing rates are not told apart by month or day: the period is then computed). The
whole-history reports (:func:`history_requests`, stored with the dashboards' usual periods
by the nightly and after-sync runs) cover every period inside the data, so a custom period
costs a few small queries instead of reading every subscription event or touchpoint.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from django.db.models import Min

from finhub.core.calendar import add_months, month_end, month_of, months_between
from metrics import selectors
from metrics.incremental import Changes, dependencies
from metrics.models import ChangedMonth, MetricSnapshot
from metrics.params import (
    GROUP_BY_CHANNEL,
    attribution_params,
    default_attribution_model,
    params_dates,
    params_hash,
    period_params,
    subscriptions_params,
)
from metrics.reports.attribution_days import attribution_from_days
from metrics.reports.cs_roi import cs_roi_cut
from records import models as m

Kind = MetricSnapshot.Kind
#: Covering snapshots looked at, longest first (the whole-history one is among them).
CANDIDATES = 5


def _months_cut(result: dict, start: dt.date, end: dt.date) -> dict | None:
    """The rows of the period's months of a CAC or subscriptions report (None: not all
    there)."""
    rows = {row["month"]: row for row in result.get("months", [])}
    wanted = [month.isoformat() for month in months_between(month_of(start), month_of(end))]
    if not all(month in rows for month in wanted):
        return None
    return {**result, "months": [rows[month] for month in wanted]}


def _cohorts_cut(result: dict, start: dt.date, end: dt.date) -> dict | None:
    """The cohorts of the period's months of a cohorts report, measured up to its last month
    (None: the report stops before)."""
    first, last = month_of(start), month_of(end)
    if result.get("last_month", "") < last.isoformat():
        return None
    cohorts = []
    for row in result.get("cohorts", []):
        cohort = dt.date.fromisoformat(row["cohort"])
        if first <= cohort <= last:
            width = (last.year - cohort.year) * 12 + last.month - cohort.month + 1
            cohorts.append({**row, "logo": row["logo"][:width], "revenue": row["revenue"][:width]})
    return {
        **result,
        "last_month": last.isoformat(),
        "cohorts": cohorts,
        "max_months": max((len(row["logo"]) - 1 for row in cohorts), default=0),
    }


def _cs_roi_cut(result: dict, start: dt.date, end: dt.date) -> dict | None:
    """The CS ROI of the period's months from a report's month figures (its baseline months
    included)."""
    return cs_roi_cut(result, month_of(start), month_of(end))


def _attribution_cut(result: dict, start: dt.date, end: dt.date) -> dict | None:
    """The attribution report of the period from a per-close-day one covering it, listing
    the keys of the period's touchpoints (probed: at most nine small queries)."""
    if not result["start"] <= start.isoformat() <= end.isoformat() <= result["end"]:
        return None
    keys = selectors.attribution_period_group_keys(
        start=start, end=end, lookback=dt.timedelta(days=result["lookback_days"])
    )
    return attribution_from_days(result, start=start, end=end, group_keys=keys[result["group_by"]])


#: Kind asked -> the kind of the stored report it is cut from, whether that one must cover
#: the period's whole months (else its days), and the cut.
SOURCES: dict[str, tuple[str, bool, Callable[[dict, dt.date, dt.date], dict | None]]] = {
    Kind.CAC: (Kind.CAC, True, _months_cut),
    Kind.SUBSCRIPTIONS: (Kind.SUBSCRIPTIONS, True, _months_cut),
    Kind.COHORTS: (Kind.COHORTS, True, _cohorts_cut),
    Kind.CS_ROI: (Kind.CS_ROI, True, _cs_roi_cut),
    Kind.ATTRIBUTION: (Kind.ATTRIBUTION_DAYS, False, _attribution_cut),
}


def data_first_month() -> dt.date | None:
    """The first month with a subscription event, a ledger line, campaign spend or a closed
    deal: where the whole-history reports start. Four index-served queries."""
    closed = m.Deal.objects.aggregate(first=Min("closed_at"))["first"]
    firsts = [
        m.SubscriptionEvent.objects.aggregate(first=Min("occurred_on"))["first"],
        m.GLLine.objects.aggregate(first=Min("posting_date"))["first"],
        m.CampaignSpend.objects.aggregate(first=Min("date"))["first"],
        None if closed is None else selectors.local_date(closed),
    ]
    found = [day for day in firsts if day is not None]
    return month_of(min(found)) if found else None


def history_requests(*, today: dt.date, first: dt.date | None = None) -> list[tuple[str, dict]]:
    """The whole-history reports custom periods are cut from, from the first month of data
    (``first``: :func:`data_first_month`, queried when not given) to the end of ``today``'s
    month (none without data): CAC, subscriptions, cohorts and CS ROI, and the default
    attribution model by channel per close day (the executive page's)."""
    first = first or data_first_month()
    if first is None or first > today:
        return []
    end = month_end(today)
    return [
        (Kind.CAC, period_params(start=first, end=end)),
        (Kind.SUBSCRIPTIONS, subscriptions_params(start=first, end=end)),
        (Kind.COHORTS, period_params(start=first, end=end)),
        (Kind.CS_ROI, period_params(start=first, end=end)),
        (
            Kind.ATTRIBUTION_DAYS,
            attribution_params(
                model=default_attribution_model(),
                group_by=GROUP_BY_CHANNEL,
                start=first,
                end=end,
            ),
        ),
    ]


def pending_changes() -> Changes:
    """The changes written since the last recompute took them (claimed or not), folded."""
    changes = Changes()
    for table_label, month in ChangedMonth.objects.values_list("table", "month").distinct():
        changes.add(table_label, month)
    return changes


def period_cut(kind: str, params: dict) -> tuple[dict, dt.datetime | None] | None:
    """The report of ``(kind, params)`` cut from a stored, current report covering its
    period, with that report's inputs freshness; None when there is none (compute it)."""
    source = SOURCES.get(kind)
    if source is None:
        return None
    stored_kind, by_month, cut = source
    start, end = params_dates(params)
    if by_month:  # a row per month: the stored report has the period's whole months
        covering = {
            "period_start__lt": add_months(month_of(start), 1),
            "period_end__gte": month_of(end),
        }
    else:
        covering = {"period_start__lte": start, "period_end__gte": end}
    candidates = (
        MetricSnapshot.objects.filter(kind=stored_kind, **covering)
        .order_by("period_start", "-period_end")
        .values_list("pk", "params", "params_hash")[:CANDIDATES]
    )
    pending: Changes | None = None
    for pk, stored, key in candidates:
        # The same parameters but the dates.
        if params_hash({**params, "start": stored["start"], "end": stored["end"]}) != key:
            continue
        if pending is None:
            pending = pending_changes()
        if pending.concern(dependencies(stored_kind, stored)):
            continue
        found = (
            MetricSnapshot.objects.filter(pk=pk).values_list("result", "inputs_freshness").first()
        )
        if found is None:  # replaced or deleted meanwhile
            continue
        result, freshness = found
        if result.get("missing_fx"):
            continue
        part = cut(result, start, end)
        if part is not None:
            return part, freshness
    return None
