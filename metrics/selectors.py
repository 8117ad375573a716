"""Reads that feed the metric computations (STYLE.md: reads in selectors).

Set-based: every function issues a fixed number of queries whatever the data size, reads
plain tuples (``values_list`` / ``iterator``) and aggregates in SQL where the result is a sum.
Money is converted to ``settings.FINHUB_REPORTING_CURRENCY`` at the FX rate of the
transaction's date (METRICS.md preamble) with :class:`metrics.computations.fx.FxRates`;
aggregates are therefore grouped by currency *and* date before conversion.

Group keys (METRICS.md §1): channels and campaigns are reported by **name** (what people read
on a dashboard; names are unique per source in practice). A touchpoint's channel is its own
channel, else its campaign's channel; a touchpoint without either is grouped under
``NO_CHANNEL`` / ``NO_CAMPAIGN``. A NULL reference (still pending) counts as "not linked".
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings
from django.db.models import Count, Max, Q, Sum
from django.utils import timezone

from metrics import models as m
from metrics.computations.attribution import Conversion, Touchpoint
from metrics.computations.fx import FxRates, MissingRateError
from metrics.computations.subscriptions import SubscriptionEvent

NO_CHANNEL = "(no channel)"
NO_CAMPAIGN = "(no campaign)"
#: Invoices that are not (yet / any more) recorded revenue in the ERP.
NON_REVENUE_INVOICE_STATUSES = (m.Invoice.Status.DRAFT, m.Invoice.Status.VOID)


def reporting_currency() -> str:
    return settings.FINHUB_REPORTING_CURRENCY


def period_bounds(start: dt.date, end: dt.date) -> tuple[dt.datetime, dt.datetime]:
    """Aware datetimes ``[start 00:00, end+1 00:00)`` in the current time zone (``end`` is
    inclusive)."""
    tz = timezone.get_current_timezone()
    low = dt.datetime.combine(start, dt.time.min, tzinfo=tz)
    high = dt.datetime.combine(end + dt.timedelta(days=1), dt.time.min, tzinfo=tz)
    return low, high


def local_date(moment: dt.datetime) -> dt.date:
    """The transaction date of a timestamp, in the configured time zone."""
    return timezone.localtime(moment).date()


def fx_rates(*, start: dt.date, end: dt.date) -> FxRates:
    """Every daily rate into the reporting currency between ``start`` and ``end`` (one query)."""
    rows = m.FxRate.objects.filter(
        quote_currency_id=reporting_currency(), date__gte=start, date__lte=end
    ).values_list("currency_id", "date", "rate")
    return FxRates(reporting_currency(), rows.iterator(chunk_size=5000))


def convert_rows(
    rows: Iterable[tuple[str, dt.date, Decimal]], rates: FxRates
) -> tuple[Decimal, list[dict]]:
    """Σ of ``(currency, date, amount)`` in the reporting currency; rows without a rate are
    left out and listed (METRICS.md: no fallback to another date's rate)."""
    total = Decimal(0)
    missing: list[dict] = []
    for currency, day, amount in rows:
        try:
            total += rates.convert(amount, currency, day)
        except MissingRateError:
            missing.append({"currency": currency, "date": day.isoformat(), "amount": amount})
    return total, missing


def channel_names() -> dict[int, str]:
    return dict(m.Channel.objects.values_list("id", "name"))


def campaign_names_and_channels() -> tuple[dict[int, str], dict[int, int | None]]:
    names: dict[int, str] = {}
    channels: dict[int, int | None] = {}
    for pk, name, channel_id in m.Campaign.objects.values_list("id", "name", "channel_id"):
        names[pk] = name
        channels[pk] = channel_id
    return names, channels


# --- attribution (METRICS.md §1) -----------------------------------------------------------


@dataclass
class AttributionInputs:
    """Touchpoints and conversions (won deals) of a period, ready for ``build_journeys``."""

    touchpoints: list[Touchpoint]
    conversions: list[Conversion]
    #: Won deals left out because their amount has no FX rate on the close date.
    missing_fx: list[dict]
    #: deal id -> (external id, amount in the reporting currency)
    deals: dict[int, tuple[str, Decimal]]


def won_deals(*, start: dt.date, end: dt.date) -> list[tuple]:
    """Won deals closed in the period: ``(id, external_id, contact_id, closed_at, amount,
    currency)`` (served by the ``status, closed_at`` index)."""
    low, high = period_bounds(start, end)
    return list(
        m.Deal.objects.filter(status=m.Deal.Status.WON, closed_at__gte=low, closed_at__lt=high)
        .order_by("id")
        .values_list("id", "external_id", "contact_id", "closed_at", "amount", "currency_id")
    )


def attribution_inputs(
    *, start: dt.date, end: dt.date, lookback: dt.timedelta
) -> AttributionInputs:
    """Conversions = won deals closed in ``[start, end]`` (value = amount converted at the
    close date, time = close timestamp); touchpoints = linked contacts' touchpoints from
    ``start - lookback`` to the end of the period (a conversion looks back ``lookback``; the
    non-converting journeys are cut to the period by ``build_journeys(window=…)``).

    A won deal without a linked contact is a conversion no touchpoint can reach, so it is
    reported as unattributed, never dropped. Five queries.
    """
    low, high = period_bounds(start, end)
    rates = fx_rates(start=start, end=end)
    conversions: list[Conversion] = []
    missing_fx: list[dict] = []
    deals: dict[int, tuple[str, Decimal]] = {}
    for pk, external_id, contact_id, closed_at, amount, currency in won_deals(start=start, end=end):
        day = local_date(closed_at)
        try:
            value = rates.convert(amount, currency, day)
        except MissingRateError:
            missing_fx.append({"deal": external_id, "currency": currency, "date": day.isoformat()})
            continue
        deals[pk] = (external_id, value)
        contact = contact_id if contact_id is not None else ("unlinked-deal", pk)
        conversions.append(Conversion(pk, contact, closed_at, value))

    channels = channel_names()
    campaigns, campaign_channel = campaign_names_and_channels()
    rows = (
        m.Touchpoint.objects.filter(
            contact__isnull=False, occurred_at__gte=low - lookback, occurred_at__lt=high
        )
        .order_by()
        .values_list("id", "contact_id", "occurred_at", "channel_id", "campaign_id")
    )
    touchpoints = []
    for pk, contact_id, occurred_at, channel_id, campaign_id in rows.iterator(chunk_size=20000):
        if channel_id is None and campaign_id is not None:
            channel_id = campaign_channel.get(campaign_id)
        touchpoints.append(
            Touchpoint(
                pk,
                contact_id,
                occurred_at,
                channels.get(channel_id, NO_CHANNEL),
                campaigns.get(campaign_id, NO_CAMPAIGN),
            )
        )
    return AttributionInputs(touchpoints, conversions, missing_fx, deals)


def erp_revenue_by_deal(*, start: dt.date, end: dt.date, deal_currency: dict[int, str]) -> dict:
    """ERP revenue recorded per deal: Σ of its linked invoices that are not draft or void.

    Returned in the deal's own currency when every invoice of the deal is in it (so an FX move
    between close and invoice date is not a mismatch); otherwise converted to the reporting
    currency at each invoice's issue date, marked by a ``"reporting"`` currency. Missing FX
    gives ``None``. Covers the won deals closed in ``[start, end]`` (a join, not a list of
    ids). One or two queries (aggregated by deal, currency and issue date in SQL).
    """
    low, high = period_bounds(start, end)
    totals = (
        m.Invoice.objects.filter(
            deal__status=m.Deal.Status.WON, deal__closed_at__gte=low, deal__closed_at__lt=high
        )
        .exclude(status__in=NON_REVENUE_INVOICE_STATUSES)
        .values("deal_id", "currency_id", "issue_date")
        .annotate(total=Sum("amount"))
        .order_by()
        .values_list("deal_id", "currency_id", "issue_date", "total")
    )
    by_deal: dict[int, list[tuple[str, dt.date, Decimal]]] = defaultdict(list)
    for deal_id, currency, day, total in totals:
        by_deal[deal_id].append((currency, day, total))
    result: dict[int, tuple[str, Decimal | None]] = {}
    rates: FxRates | None = None
    for deal_id, rows in by_deal.items():
        own = deal_currency.get(deal_id)
        if all(currency == own for currency, _d, _t in rows):
            result[deal_id] = (own, sum((t for _c, _d, t in rows), Decimal(0)))
            continue
        if rates is None:
            days = [day for rows_ in by_deal.values() for _c, day, _t in rows_]
            rates = fx_rates(start=min(days), end=max(days))
        total, missing = convert_rows(rows, rates)
        result[deal_id] = ("reporting", None if missing else total)
    return result


def freshness(*models: type) -> dt.datetime | None:
    """Latest ``updated_at`` over the given source tables (one aggregate query each)."""
    latest = None
    for model in models:
        value = model.objects.aggregate(latest=Max("updated_at"))["latest"]
        if value is not None and (latest is None or value > latest):
            latest = value
    return latest


# --- campaign spend (METRICS.md §2, §4) ----------------------------------------------------


def spend_by_campaign(*, start: dt.date, end: dt.date) -> tuple[dict, Decimal, list[dict]]:
    """Spend per campaign id in the period, in the reporting currency (SUM in SQL per
    campaign, currency and day). Returns ``(by campaign id, spend of unlinked rows, missing
    FX rows)``; spend whose campaign is still pending is reported apart, not dropped."""
    rows = (
        m.CampaignSpend.objects.filter(date__gte=start, date__lte=end)
        .values("campaign_id", "currency_id", "date")
        .annotate(total=Sum("amount"))
        .order_by()
        .values_list("campaign_id", "currency_id", "date", "total")
    )
    rates = fx_rates(start=start, end=end)
    by_campaign: dict[int, Decimal] = defaultdict(Decimal)
    unlinked = Decimal(0)
    missing: list[dict] = []
    for campaign_id, currency, day, total in rows:
        try:
            value = rates.convert(total, currency, day)
        except MissingRateError:
            missing.append({"currency": currency, "date": day.isoformat(), "amount": total})
            continue
        if campaign_id is None:
            unlinked += value
        else:
            by_campaign[campaign_id] += value
    return dict(by_campaign), unlinked, missing


# --- budget vs actual (METRICS.md §5) ------------------------------------------------------

BUDGET_GROUPINGS = {
    "account": ("account__code", "account__name"),
    "account_type": ("account__type", "account__type"),
    "department": ("department__code", "department__name"),
    "campaign": ("campaign__external_id", "campaign__name"),
}


def budget_versions(*, start: dt.date, end: dt.date, budget_id: int | None) -> list[int]:
    """The chosen budget version, or the current version of every fiscal year the period
    touches (one query)."""
    if budget_id is not None:
        return [budget_id]
    return list(
        m.Budget.objects.filter(
            is_current=True, fiscal_year__gte=start.year, fiscal_year__lte=end.year
        ).values_list("id", flat=True)
    )


def ledger_totals(*, start: dt.date, end: dt.date, group_by: str) -> list[tuple]:
    """Σ GL amount per (group key, group label, account type, currency, day) in the period:
    ``GROUP BY`` in SQL (served by the ``posting_date, account, department`` index). Lines
    whose account is still pending have no type and are left out of budget vs actual."""
    key, label = BUDGET_GROUPINGS[group_by]
    return list(
        m.GLLine.objects.filter(
            posting_date__gte=start, posting_date__lte=end, account__isnull=False
        )
        .values(key, label, "account__type", "currency_id", "posting_date")
        .annotate(total=Sum("amount"))
        .order_by()
        .values_list(key, label, "account__type", "currency_id", "posting_date", "total")
    )


def budget_totals(
    *, start: dt.date, end: dt.date, group_by: str, budget_ids: list[int]
) -> list[tuple]:
    """Σ budget amount per (group key, label, account type, currency, month) of the chosen
    versions for the months ``start``…``end`` touches (``GROUP BY`` in SQL)."""
    key, label = BUDGET_GROUPINGS[group_by]
    return list(
        m.BudgetLine.objects.filter(
            budget_id__in=budget_ids,
            month__gte=start.replace(day=1),
            month__lte=end,
            account__isnull=False,
        )
        .values(key, label, "account__type", "currency_id", "month")
        .annotate(total=Sum("amount"))
        .order_by()
        .values_list(key, label, "account__type", "currency_id", "month", "total")
    )


# --- sales (METRICS.md §6) -----------------------------------------------------------------


def deal_outcomes(*, start: dt.date, end: dt.date) -> dict[str, int]:
    """Won and lost deals closed in the period, counted in SQL."""
    low, high = period_bounds(start, end)
    counts = m.Deal.objects.filter(closed_at__gte=low, closed_at__lt=high).aggregate(
        won=Count("id", filter=Q(status=m.Deal.Status.WON)),
        lost=Count("id", filter=Q(status=m.Deal.Status.LOST)),
    )
    return {"won": counts["won"] or 0, "lost": counts["lost"] or 0}


def won_deal_details(*, start: dt.date, end: dt.date) -> list[tuple]:
    """Won deals closed in the period with what sales analytics needs: ``(id, external_id,
    name, opened_at, closed_at, amount, currency, rep_id, team_id)``."""
    low, high = period_bounds(start, end)
    return list(
        m.Deal.objects.filter(status=m.Deal.Status.WON, closed_at__gte=low, closed_at__lt=high)
        .order_by("id")
        .values_list(
            "id",
            "external_id",
            "name",
            "opened_at",
            "closed_at",
            "amount",
            "currency_id",
            "rep_id",
            "rep__team_id",
        )
    )


def pipeline_totals(*, start: dt.date, end: dt.date) -> list[tuple]:
    """Deals opened in the period: count and Σ amount per (stage, status, currency, opening
    day), aggregated in SQL."""
    low, high = period_bounds(start, end)
    return list(
        m.Deal.objects.filter(opened_at__gte=low, opened_at__lt=high)
        .values("stage", "status", "currency_id", "opened_at__date")
        .annotate(deals=Count("id"), total=Sum("amount"))
        .order_by()
        .values_list("stage", "status", "currency_id", "opened_at__date", "deals", "total")
    )


def quotas(*, start: dt.date, end: dt.date) -> list[tuple]:
    """Quotas whose period lies within ``[start, end]``: ``(id, rep_id, rep name, team_id,
    team name, period_start, period_end, amount, currency)``."""
    return list(
        m.Quota.objects.filter(rep__isnull=False, period_start__gte=start, period_end__lte=end)
        .order_by("period_start", "id")
        .values_list(
            "id",
            "rep_id",
            "rep__name",
            "rep__team_id",
            "rep__team__name",
            "period_start",
            "period_end",
            "amount",
            "currency_id",
        )
    )


def sales_cost_rows(*, start: dt.date, end: dt.date) -> list[tuple]:
    """GL lines of the sales department(s) on cost and expense accounts in the period, summed
    per currency and day in SQL. The departments are configuration: names or codes listed in
    ``settings.FINHUB_SALES_DEPARTMENTS`` (default ``["Sales"]``)."""
    names = list(getattr(settings, "FINHUB_SALES_DEPARTMENTS", ["Sales"]))
    return list(
        m.GLLine.objects.filter(
            Q(department__name__in=names) | Q(department__code__in=names),
            posting_date__gte=start,
            posting_date__lte=end,
            account__type__in=[m.Account.Type.EXPENSE, m.Account.Type.COST_OF_SALES],
        )
        .values("currency_id", "posting_date")
        .annotate(total=Sum("amount"))
        .order_by()
        .values_list("currency_id", "posting_date", "total")
    )


# --- CAC (METRICS.md §3, §4) ---------------------------------------------------------------


def subscription_events(*, end: dt.date) -> tuple[list[SubscriptionEvent], list[dict]]:
    """Every linked customer's subscription events up to ``end`` (the whole history: new vs
    reactivation and the pooled churn need it), MRR converted at the event date."""
    rows = (
        m.SubscriptionEvent.objects.filter(customer__isnull=False, occurred_on__lte=end)
        .order_by("occurred_on", "id")
        .values_list("customer_id", "occurred_on", "mrr_after", "currency_id")
    )
    events = list(rows.iterator(chunk_size=10000))
    if not events:
        return [], []
    rates = fx_rates(start=events[0][1], end=end)
    converted: list[SubscriptionEvent] = []
    missing: list[dict] = []
    for customer_id, day, mrr, currency in events:
        try:
            converted.append(SubscriptionEvent(customer_id, day, rates.convert(mrr, currency, day)))
        except MissingRateError:
            missing.append({"currency": currency, "date": day.isoformat(), "amount": mrr})
    return converted, missing


def sales_marketing_cost_rows(*, start: dt.date, end: dt.date) -> list[tuple]:
    """GL lines on sales & marketing accounts (``Account.is_sales_marketing``) in the period,
    Σ per currency and day in SQL."""
    return list(
        m.GLLine.objects.filter(
            posting_date__gte=start, posting_date__lte=end, account__is_sales_marketing=True
        )
        .values("currency_id", "posting_date")
        .annotate(total=Sum("amount"))
        .order_by()
        .values_list("currency_id", "posting_date", "total")
    )


def channel_spend_rows(*, start: dt.date, end: dt.date) -> list[tuple]:
    """Campaign spend Σ per (campaign's channel name, currency, day) in the period; spend of
    a campaign without a linked channel is under ``None``."""
    return list(
        m.CampaignSpend.objects.filter(date__gte=start, date__lte=end)
        .values("campaign__channel__name", "currency_id", "date")
        .annotate(total=Sum("amount"))
        .order_by()
        .values_list("campaign__channel__name", "currency_id", "date", "total")
    )


def acquisition_channels() -> dict[int, str]:
    """Customer id -> the name of the channel that acquired it (linked ones only)."""
    return dict(
        m.Customer.objects.filter(acquisition_channel__isnull=False).values_list(
            "id", "acquisition_channel__name"
        )
    )


def paid_channel_names() -> list[str]:
    """Paid channels are configuration: the ``Channel.is_paid`` flag."""
    return list(m.Channel.objects.filter(is_paid=True).values_list("name", flat=True))
