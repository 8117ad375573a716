"""Reads that feed the metric computations (STYLE.md: reads in selectors).

Set-based: every function issues a fixed number of queries whatever the data size, reads
plain tuples (``values_list`` / ``iterator``) and aggregates in SQL where the result is a sum.
Money is converted to ``settings.FINHUB_REPORTING_CURRENCY`` at the FX rate of the
transaction's date (docs/metrics.md, "Conventions") by a :class:`finhub.core.money.Converter`, which
lists what has no rate; aggregates are therefore grouped by currency *and* date before
conversion.

Group keys (docs/metrics.md, "Channels and campaigns"): channels and campaigns are reported
by **name** (what people read on a dashboard; names are unique per source in practice). A
touchpoint's channel is its own channel, else its campaign's channel; a touchpoint without
either is grouped under ``NO_CHANNEL`` / ``NO_CAMPAIGN``. A NULL reference (still pending)
counts as "not linked".
"""

from __future__ import annotations

import datetime as dt
import io
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

import numpy as np
from django.conf import settings
from django.db import connection
from django.db.models import (
    Case,
    Count,
    DateField,
    DateTimeField,
    Exists,
    F,
    Max,
    Min,
    OuterRef,
    Q,
    QuerySet,
    Sum,
    Value,
    When,
)
from django.db.models.functions import TruncDate, TruncMonth
from django.utils import timezone

from finhub.core.money import Converter, FxRates, MissingRate
from metrics.computations.attribution import (
    DEFAULT_LOOKBACK,
    GROUP_BY_CAMPAIGN,
    GROUP_BY_CHANNEL,
    Conversion,
    TouchpointColumns,
    to_micros,
)
from metrics.computations.subscriptions import SubscriptionEvent
from records import models as m

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


def converter(*, start: dt.date, end: dt.date) -> Converter:
    """Converts into the reporting currency at the rates of ``start``…``end`` and lists what
    has no rate (no fallback to another date's rate)."""
    return Converter(fx_rates(start=start, end=end))


def channel_names() -> dict[int, str]:
    return dict(m.Channel.objects.values_list("id", "name"))


def campaign_names_and_channels() -> tuple[dict[int, str], dict[int, int | None]]:
    names: dict[int, str] = {}
    channels: dict[int, int | None] = {}
    for pk, name, channel_id in m.Campaign.objects.values_list("id", "name", "channel_id"):
        names[pk] = name
        channels[pk] = channel_id
    return names, channels


# --- attribution ---------------------------------------------------------------------------


@dataclass
class AttributionInputs:
    """Touchpoints and conversions (won deals) of a period, ready for ``build_journeys``."""

    touchpoints: TouchpointColumns
    conversions: list[Conversion]
    #: Won deals left out because their amount has no FX rate on the close date.
    missing_fx: list[MissingRate]
    #: deal id -> (external id, amount in the reporting currency)
    deals: dict[int, tuple[str, Decimal]]
    #: Read for the converting contacts only: the group keys of every linked touchpoint of
    #: the range (what the reports list), which ``touchpoints`` alone may lack.
    group_keys: dict[str, tuple[str, ...]] | None = None


def won_deals(*, start: dt.date, end: dt.date) -> list[tuple]:
    """Won deals closed in the period: ``(id, external_id, contact_id, closed_at, amount,
    currency)`` (served by the ``status, closed_at`` index)."""
    return list(won_deal_rows(start=start, end=end))


def won_deal_rows(*, start: dt.date, end: dt.date) -> QuerySet:
    """The query of :func:`won_deals`."""
    low, high = period_bounds(start, end)
    return (
        m.Deal.objects.filter(status=m.Deal.Status.WON, closed_at__gte=low, closed_at__lt=high)
        .order_by("id")
        .values_list("id", "external_id", "contact_id", "closed_at", "amount", "currency_id")
    )


def attribution_inputs(
    *, start: dt.date, end: dt.date, lookback: dt.timedelta, converting_only: bool = False
) -> AttributionInputs:
    """Conversions = won deals closed in ``[start, end]`` (value = amount converted at the
    close date, time = close timestamp); touchpoints = linked contacts' touchpoints from
    ``start - lookback`` to the end of the period (a conversion looks back ``lookback``; the
    non-converting journeys are cut to the period by ``build_journeys(window=…)``).

    ``converting_only``: only the touchpoints of the conversions' contacts (in the same
    range), and ``group_keys`` = the keys every linked touchpoint of the range has
    (:func:`attribution_group_keys`) — all a model but markov needs, a fraction of the rows.

    A won deal without a linked contact is a conversion no touchpoint can reach, so it is
    reported as unattributed, never dropped. Five queries (converting only: at most seven
    more, for group keys its touchpoints lack).
    """
    low, high = period_bounds(start, end)
    convert = converter(start=start, end=end)
    conversions: list[Conversion] = []
    deals: dict[int, tuple[str, Decimal]] = {}
    tz = timezone.get_current_timezone()  # local_date's, looked up once for every deal
    for pk, external_id, contact_id, closed_at, amount, currency in won_deals(start=start, end=end):
        value = convert(amount, currency, closed_at.astimezone(tz).date(), deal=external_id)
        if value is None:
            continue
        deals[pk] = (external_id, value)
        contact = contact_id if contact_id is not None else ("unlinked-deal", pk)
        conversions.append(Conversion(pk, contact, closed_at, value))

    if not converting_only:
        touchpoints = attribution_touchpoints(low=low - lookback, high=high)
        return AttributionInputs(touchpoints, conversions, convert.missing, deals)
    contacts = sorted({c.contact_id for c in conversions if type(c.contact_id) is int})
    touchpoints = attribution_touchpoints(low=low - lookback, high=high, contacts=contacts)
    keys = attribution_group_keys(touchpoints, low=low - lookback, high=high)
    return AttributionInputs(touchpoints, conversions, convert.missing, deals, keys)


#: The columns the attribution read takes of each touchpoint, all 8 bytes and never NULL (so
#: every row of the binary COPY has one fixed layout): id, contact, occurred_at (binary
#: timestamptz: microseconds since 2000-01-01 UTC), channel and campaign ids (-1: none).
_TOUCHPOINT_COPY = (
    "SELECT t.id::int8, t.contact_id::int8, t.occurred_at, "
    "COALESCE(t.channel_id, -1)::int8, COALESCE(t.campaign_id, -1)::int8 FROM ({}) AS t"
)
_PG_EPOCH_MICROS = 946_684_800_000_000  # 2000-01-01 UTC in microseconds since 1970-01-01
_COPY_HEADER = b"PGCOPY\n\xff\r\n\x00"
_COPY_ROW = np.dtype(
    [("fields", ">i2")]
    + [item for name in ("id", "contact", "time", "channel", "campaign")
       for item in ((f"{name}_size", ">i4"), (name, ">i8"))]
)  # fmt: skip


def attribution_touchpoint_rows(
    *, low: dt.datetime, high: dt.datetime, contacts: list[int] | None = None
) -> QuerySet:
    """The touchpoints attribution reads: linked to a contact (one of ``contacts`` when
    given), ``low <= occurred_at < high``, as ``(id, contact, occurred_at, channel,
    campaign)`` tuples. All contacts: served by the ``occurred_at`` index (or a scan);
    ``contacts``: by the ``contact, occurred_at`` index, one range per contact (on
    PostgreSQL ``= ANY(array)``, one parameter however many contacts)."""
    rows = _linked_touchpoints(low=low, high=high)
    if contacts is not None:
        if connection.vendor == "postgresql":
            rows = rows.extra(where=["contact_id = ANY(%s::bigint[])"], params=[contacts])
        else:
            rows = rows.filter(contact_id__in=contacts)
    return rows.order_by().values_list(
        "id", "contact_id", "occurred_at", "channel_id", "campaign_id"
    )


def _linked_touchpoints(*, low: dt.datetime, high: dt.datetime) -> QuerySet:
    return m.Touchpoint.objects.filter(
        contact__isnull=False, occurred_at__gte=low, occurred_at__lt=high
    )


def _touchpoint_arrays_copied(rows: QuerySet) -> list[np.ndarray]:
    """PostgreSQL: the rows by one binary ``COPY … TO STDOUT``, parsed as fixed-layout
    records straight into arrays (a million rows in well under a second; building a million
    Python tuples and datetimes took most of the old read). Timestamps arrive as PostgreSQL's
    integer microseconds since 2000-01-01 (``integer_datetimes``, the only build since 10)."""
    sql, params = rows.query.sql_with_params()
    buffer = io.BytesIO()
    with connection.cursor() as cursor:
        inner = cursor.mogrify(sql, params).decode()
        cursor.copy_expert(
            f"COPY ({_TOUCHPOINT_COPY.format(inner)}) TO STDOUT WITH (FORMAT binary)", buffer
        )
    data = buffer.getbuffer()
    if bytes(data[: len(_COPY_HEADER)]) != _COPY_HEADER:
        raise RuntimeError("unexpected COPY output: not PostgreSQL's binary format")
    header = len(_COPY_HEADER) + 4
    header += 4 + int.from_bytes(data[header : header + 4], "big")  # + the extension area
    records = np.frombuffer(data[header:-2], dtype=_COPY_ROW)
    if len(records) and (
        (records["fields"] != 5).any()
        or any((records[f"{n}_size"] != 8).any() for n in ("id", "contact", "time"))
    ):
        raise RuntimeError("unexpected COPY output: a touchpoint row is not five int8 values")
    ids, contacts, times, channels, campaigns = (
        records[name].astype(np.int64) for name in ("id", "contact", "time", "channel", "campaign")
    )
    return [ids, contacts, times + _PG_EPOCH_MICROS, channels, campaigns]


def _touchpoint_arrays_fetched(rows: QuerySet) -> list[np.ndarray]:
    """Other databases (SQLite in tests): the same arrays from the ORM's tuples."""
    columns: list[list[int]] = [[], [], [], [], []]
    for pk, contact_id, occurred_at, channel_id, campaign_id in rows.iterator(chunk_size=20000):
        columns[0].append(pk)
        columns[1].append(contact_id)
        columns[2].append(to_micros(occurred_at))
        columns[3].append(-1 if channel_id is None else channel_id)
        columns[4].append(-1 if campaign_id is None else campaign_id)
    return [np.array(column, dtype=np.int64) for column in columns]


def _mapped(ids: np.ndarray, mapping: dict[int, int], default: int) -> np.ndarray:
    """``mapping[id]`` (``default`` when absent) for every id of the array: a lookup table
    indexed by id (ids of channels and campaigns are small; ``-1`` is "none")."""
    table = np.full(max(mapping, default=0) + 2, default, dtype=np.int64)
    for pk, value in mapping.items():
        if pk >= 0:
            table[pk + 1] = value
    index = ids + 1
    index[(index < 0) | (index >= len(table))] = 0  # unknown ids take the default
    return table[index]


def attribution_touchpoints(
    *, low: dt.datetime, high: dt.datetime, contacts: list[int] | None = None
) -> TouchpointColumns:
    """The touchpoints of :func:`attribution_touchpoint_rows` as columns, each grouped by
    channel and campaign name (docs/metrics.md, "Channels and campaigns"): its own channel,
    else its campaign's; ``NO_CHANNEL`` / ``NO_CAMPAIGN`` without. Three queries."""
    rows = attribution_touchpoint_rows(low=low, high=high, contacts=contacts)
    if connection.vendor == "postgresql":
        ids, contacts, times, channel_ids, campaign_ids = _touchpoint_arrays_copied(rows)
    else:
        ids, contacts, times, channel_ids, campaign_ids = _touchpoint_arrays_fetched(rows)
    channels = channel_names()
    campaigns, campaign_channel = campaign_names_and_channels()
    # A touchpoint without a channel of its own takes its campaign's (-1: none).
    inherited = {pk: channel for pk, channel in campaign_channel.items() if channel is not None}
    channel_ids = np.where(channel_ids >= 0, channel_ids, _mapped(campaign_ids, inherited, -1))
    channel_keys = tuple(sorted({*channels.values(), NO_CHANNEL}))
    campaign_keys = tuple(sorted({*campaigns.values(), NO_CAMPAIGN}))
    channel_code = {name: code for code, name in enumerate(channel_keys)}
    campaign_code = {name: code for code, name in enumerate(campaign_keys)}
    return TouchpointColumns(
        ids=ids,
        contacts=contacts,
        times=times,
        channels=_mapped(
            channel_ids,
            {pk: channel_code[name] for pk, name in channels.items()},
            channel_code[NO_CHANNEL],
        ),
        campaigns=_mapped(
            campaign_ids,
            {pk: campaign_code[name] for pk, name in campaigns.items()},
            campaign_code[NO_CAMPAIGN],
        ),
        channel_names=channel_keys,
        campaign_names=campaign_keys,
    )


def attribution_group_keys(
    columns: TouchpointColumns, *, low: dt.datetime, high: dt.datetime
) -> dict[str, tuple[str, ...]]:
    """Per grouping, the sorted keys of every linked touchpoint with ``low <= occurred_at <
    high`` — the keys :func:`attribution_touchpoints` over all of them presents, so the
    reports list the same (zero) rows — given ``columns``, some of those touchpoints (the
    converting contacts').

    The keys ``columns`` has are present. For a key it lacks, the ids that map to it by the
    rules of :func:`attribution_touchpoints` (own channel, else the campaign's; an id of a
    soft-deleted channel or campaign maps to ``NO_CHANNEL`` / ``NO_CAMPAIGN``) are probed for
    a touchpoint of the range: ``EXISTS`` served by the ``channel, occurred_at`` and
    ``campaign, occurred_at`` indexes. No query when ``columns`` has every key; at most seven.
    """
    found = {
        GROUP_BY_CHANNEL: {columns.channel_names[c] for c in np.unique(columns.channels).tolist()},
        GROUP_BY_CAMPAIGN: {
            columns.campaign_names[c] for c in np.unique(columns.campaigns).tolist()
        },
    }
    names = {GROUP_BY_CHANNEL: columns.channel_names, GROUP_BY_CAMPAIGN: columns.campaign_names}

    def lacking(grouping: str) -> set[str]:
        return set(names[grouping]) - found[grouping]

    if not lacking(GROUP_BY_CHANNEL) and not lacking(GROUP_BY_CAMPAIGN):
        return {grouping: tuple(sorted(keys)) for grouping, keys in found.items()}
    channels = channel_names()
    campaigns, campaign_channel = campaign_names_and_channels()
    linked = _linked_touchpoints(low=low, high=high)

    def channel_key(pk: int | None) -> str:
        return NO_CHANNEL if pk is None else channels.get(pk, NO_CHANNEL)

    def inherited_key(pk: int) -> str:  # of a touchpoint without a channel of its own
        return channel_key(campaign_channel.get(pk))

    def campaign_key(pk: int) -> str:
        return campaigns.get(pk, NO_CAMPAIGN)

    def probe(model: type, live: Iterable[int], key, grouping: str, default: str, **q) -> None:
        """Adds the keys of the ids of ``model`` some linked touchpoint of the range refers
        to (``q``, with ``OuterRef("pk")``): the live ids whose key is lacking, and the
        soft-deleted ones when ``default`` (their key) is."""
        missing = lacking(grouping)
        wanted = Q(pk__in=[pk for pk in live if key(pk) in missing])
        if default in missing:
            wanted |= Q(deleted_at__isnull=False)
        hits = model.all_objects.filter(wanted).filter(Exists(linked.filter(**q)))
        found[grouping].update(key(pk) for pk in hits.values_list("pk", flat=True))

    if lacking(GROUP_BY_CHANNEL):
        probe(m.Channel, channels, channel_key, GROUP_BY_CHANNEL, NO_CHANNEL,
              channel=OuterRef("pk"))  # fmt: skip
    if lacking(GROUP_BY_CHANNEL):
        probe(m.Campaign, campaigns, inherited_key, GROUP_BY_CHANNEL, NO_CHANNEL,
              channel__isnull=True, campaign=OuterRef("pk"))  # fmt: skip
    if (
        NO_CHANNEL in lacking(GROUP_BY_CHANNEL)
        and linked.filter(channel__isnull=True, campaign__isnull=True).exists()
    ):
        found[GROUP_BY_CHANNEL].add(NO_CHANNEL)
    if lacking(GROUP_BY_CAMPAIGN):
        probe(m.Campaign, campaigns, campaign_key, GROUP_BY_CAMPAIGN, NO_CAMPAIGN,
              campaign=OuterRef("pk"))  # fmt: skip
    if NO_CAMPAIGN in lacking(GROUP_BY_CAMPAIGN) and linked.filter(campaign__isnull=True).exists():
        found[GROUP_BY_CAMPAIGN].add(NO_CAMPAIGN)
    return {grouping: tuple(sorted(keys)) for grouping, keys in found.items()}


def attribution_period_group_keys(
    *, start: dt.date, end: dt.date, lookback: dt.timedelta
) -> dict[str, tuple[str, ...]]:
    """The ``group_keys`` :func:`attribution_inputs` (``converting_only``) yields for the
    period, without reading a touchpoint: :func:`attribution_group_keys` given none, so every
    channel and campaign key is probed (index-served ``EXISTS``). At most nine queries."""
    low, high = period_bounds(start, end)
    campaigns, _campaign_channel = campaign_names_and_channels()
    none = np.zeros(0, dtype=np.int64)
    columns = TouchpointColumns(
        ids=none,
        contacts=none,
        times=none,
        channels=none,
        campaigns=none,
        channel_names=tuple(sorted({*channel_names().values(), NO_CHANNEL})),
        campaign_names=tuple(sorted({*campaigns.values(), NO_CAMPAIGN})),
    )
    return attribution_group_keys(columns, low=low - lookback, high=high)


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
    convert: Converter | None = None
    for deal_id, rows in by_deal.items():
        own = deal_currency.get(deal_id)
        if all(currency == own for currency, _d, _t in rows):
            result[deal_id] = (own, sum((t for _c, _d, t in rows), Decimal(0)))
            continue
        if convert is None:
            days = [day for rows_ in by_deal.values() for _c, day, _t in rows_]
            convert = converter(start=min(days), end=max(days))
        values = [convert(total, currency, day) for currency, day, total in rows]
        result[deal_id] = (
            "reporting",
            None if None in values else sum((v for v in values if v is not None), Decimal(0)),
        )
    return result


def freshness(*models: type) -> dt.datetime | None:
    """Latest ``updated_at`` over the given source tables (one aggregate query each)."""
    latest = None
    for model in models:
        value = model.objects.aggregate(latest=Max("updated_at"))["latest"]
        if value is not None and (latest is None or value > latest):
            latest = value
    return latest


# --- campaign spend --------------------------------------------------------------------------


def spend_by_campaign(
    *, start: dt.date, end: dt.date
) -> tuple[dict[int, Decimal], Decimal, list[MissingRate]]:
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
    convert = converter(start=start, end=end)
    by_campaign: dict[int, Decimal] = defaultdict(Decimal)
    unlinked = Decimal(0)
    for campaign_id, currency, day, total in rows:
        value = convert(total, currency, day)
        if value is None:
            continue
        if campaign_id is None:
            unlinked += value
        else:
            by_campaign[campaign_id] += value
    return dict(by_campaign), unlinked, convert.missing


# --- budget vs actual ------------------------------------------------------------------------

#: Grouping -> the (key, label) field pairs a budget-vs-actual row is grouped by.
BUDGET_GROUPINGS = {
    "account": ("account__code", "account__name"),
    "account_type": ("account__type", "account__type"),
    "department": ("department__code", "department__name"),
    "campaign": ("campaign__external_id", "campaign__name"),
    # Department x account: the executive page's department filter reads one row set.
    "department_account": (
        "department__code",
        "department__name",
        "account__code",
        "account__name",
    ),
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
    """Σ GL amount per (group keys and labels, account type, currency, day) in the period:
    ``GROUP BY`` in SQL (served by the ``posting_date, account, department`` index). Lines
    whose account is still pending come with no account (key, label and type None): they
    still count in the department and period totals, as unclassified."""
    fields = (*BUDGET_GROUPINGS[group_by], "account__type", "currency_id", "posting_date")
    return _ledger_sums(start=start, end=end, fields=fields)


def ledger_totals_by_ids(*, start: dt.date, end: dt.date) -> list[tuple]:
    """Σ GL amount per (department id, account id, currency, day) in the period: the rows
    ``ledger_totals`` groups further by labels, without its joins (grouping by integers is
    cheaper), for several groupings to share one read (``metrics.reports.budget``)."""
    fields = ("department_id", "account_id", "currency_id", "posting_date")
    return _ledger_sums(start=start, end=end, fields=fields)


def _ledger_sums(*, start: dt.date, end: dt.date, fields: tuple[str, ...]) -> list[tuple]:
    """(*fields, Σ amount) of the GL lines posted in the period, grouped by ``fields``."""
    return list(
        m.GLLine.objects.filter(posting_date__gte=start, posting_date__lte=end)
        .values(*fields)
        .annotate(total=Sum("amount"))
        .order_by()
        .values_list(*fields, "total")
    )


def ledger_labels() -> tuple[dict[int, dict[str, str]], dict[int, dict[str, str]]]:
    """The ``BUDGET_GROUPINGS`` label fields of every department and account by id, those
    the source deleted included (``ledger_totals``' joins keep them too). Two queries."""
    departments = {
        pk: {"department__code": code, "department__name": name}
        for pk, code, name in m.Department.all_objects.values_list("id", "code", "name")
    }
    accounts = {
        pk: {"account__code": code, "account__name": name, "account__type": type_}
        for pk, code, name, type_ in m.Account.all_objects.values_list("id", "code", "name", "type")
    }
    return departments, accounts


def budget_totals(
    *, start: dt.date, end: dt.date, group_by: str, budget_ids: list[int]
) -> list[tuple]:
    """Σ budget amount per (group keys and labels, account type, currency, month) of the
    chosen versions for the months ``start``…``end`` touches (``GROUP BY`` in SQL); lines
    whose account is pending come with no account, like ``ledger_totals``."""
    fields = (*BUDGET_GROUPINGS[group_by], "account__type", "currency_id", "month")
    return list(
        m.BudgetLine.objects.filter(
            budget_id__in=budget_ids, month__gte=start.replace(day=1), month__lte=end
        )
        .values(*fields)
        .annotate(total=Sum("amount"))
        .order_by()
        .values_list(*fields, "total")
    )


# --- sales -----------------------------------------------------------------------------------


def _deals(team_id: int | None) -> QuerySet:
    """Every deal, or one sales team's (its reps' deals)."""
    deals = m.Deal.objects.all()
    return deals if team_id is None else deals.filter(rep__team_id=team_id)


def deal_outcomes(*, start: dt.date, end: dt.date, team_id: int | None = None) -> dict[str, int]:
    """Won and lost deals closed in the period (of one team), counted in SQL."""
    low, high = period_bounds(start, end)
    # COUNT(status) = COUNT(id) (status is never NULL): it reads the index alone
    # (m_deal_closed_live).
    counts = (
        _deals(team_id)
        .filter(closed_at__gte=low, closed_at__lt=high)
        .aggregate(
            won=Count("status", filter=Q(status=m.Deal.Status.WON)),
            lost=Count("status", filter=Q(status=m.Deal.Status.LOST)),
        )
    )
    return {"won": counts["won"] or 0, "lost": counts["lost"] or 0}


def won_deal_details(*, start: dt.date, end: dt.date, team_id: int | None = None) -> list[tuple]:
    """Won deals closed in the period (of one team) with what sales analytics needs: ``(id,
    external_id, name, opened_at, closed_at, amount, currency, rep_id, team_id)``."""
    low, high = period_bounds(start, end)
    return list(
        _deals(team_id)
        .filter(status=m.Deal.Status.WON, closed_at__gte=low, closed_at__lt=high)
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


def pipeline_totals(*, start: dt.date, end: dt.date, team_id: int | None = None) -> list[tuple]:
    """Deals opened in the period (of one team): count and Σ amount per (stage, status,
    currency, opening day), aggregated in SQL, sorted by those four."""
    low, high = period_bounds(start, end)
    # Grouped by the day first (annotations keep their order in GROUP BY; a date is a cheap
    # sort key) and COUNT(*) (= COUNT(id)), so that PostgreSQL groups from the index alone
    # (m_deal_opened_live); the groups are few and sorted here.
    rows = (
        _deals(team_id)
        .filter(opened_at__gte=low, opened_at__lt=high)
        .values(
            day=TruncDate("opened_at"),
            deal_stage=F("stage"),
            deal_status=F("status"),
            deal_currency=F("currency_id"),
        )
        .annotate(deals=Count("*"), total=Sum("amount"))
        .order_by()
        .values_list("day", "deal_stage", "deal_status", "deal_currency", "deals", "total")
    )
    return sorted(
        (stage, status, currency, day, deals, total)
        for day, stage, status, currency, deals, total in rows
    )


def quotas(*, start: dt.date, end: dt.date, team_id: int | None = None) -> list[tuple]:
    """Quotas (of one team's reps) whose period lies within ``[start, end]``: ``(id, rep_id,
    rep name, team_id, team name, period_start, period_end, amount, currency)``."""
    quotas = m.Quota.objects.filter(rep__isnull=False, period_start__gte=start, period_end__lte=end)
    if team_id is not None:
        quotas = quotas.filter(rep__team_id=team_id)
    return list(
        quotas.order_by("period_start", "id").values_list(
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


def sales_team_name(team_id: int) -> str:
    return m.SalesTeam.objects.filter(pk=team_id).values_list("name", flat=True).first() or ""


def sales_cost_rows(*, start: dt.date, end: dt.date) -> list[tuple]:
    """GL lines of the sales department(s) on cost and expense accounts in the period
    (:func:`_ledger_cost_rows`; the sales report sums them all). The departments are
    configuration: names or codes listed in ``settings.FINHUB_SALES_DEPARTMENTS`` (default
    ``["Sales"]``)."""
    names = getattr(settings, "FINHUB_SALES_DEPARTMENTS", ["Sales"])
    accounts = m.Account.all_objects.filter(
        type__in=[m.Account.Type.EXPENSE, m.Account.Type.COST_OF_SALES]
    )
    lines = Q(department_id__in=_department_ids(names), account_id__in=accounts.values("id"))
    return _ledger_cost_rows(start=start, end=end, lines=lines)


def _ledger_cost_rows(*, start: dt.date, end: dt.date, lines: Q) -> list[tuple]:
    """``(currency, day, total)`` of the GL lines ``lines`` selects (a condition on
    ``department_id`` / ``account_id``, which the ledger pre-aggregates share) in the period,
    sorted by currency and day: from the pre-aggregates when their months are valid (a month
    the period covers in full as one row dated its first day: for callers that sum by month
    or over the period), else Σ per currency and day of the GL lines in SQL."""
    from metrics.ledger_aggregates import cost_rows  # it reads through this module

    fast = cost_rows(start=start, end=end, lines=lines)
    if fast is not None:
        return fast
    return sorted(
        m.GLLine.objects.filter(lines, posting_date__gte=start, posting_date__lte=end)
        .values("currency_id", "posting_date")
        .annotate(total=Sum("amount"))
        .order_by()
        .values_list("currency_id", "posting_date", "total"),
        key=lambda row: row[:2],
    )


# --- subscriptions and CAC -------------------------------------------------------------------


def subscription_events(*, end: dt.date) -> tuple[list[SubscriptionEvent], list[MissingRate]]:
    """Every linked customer's subscription events up to ``end`` (the whole history: new vs
    reactivation and the pooled churn need it), MRR converted at the event date."""
    rows = (
        m.SubscriptionEvent.objects.filter(customer__isnull=False, occurred_on__lte=end)
        .order_by("occurred_on", "id")
        .values_list("customer_id", "occurred_on", "mrr_after", "currency_id")
    )
    events = rows.iterator(chunk_size=10000)
    first = next(events, None)
    if first is None:
        return [], []
    convert = converter(start=first[1], end=end)
    converted: list[SubscriptionEvent] = []
    # Converted as they are read (the rows are not all kept), the first one first.
    for rows_read in ((first,), events):
        for customer_id, day, mrr, currency in rows_read:
            value = convert(mrr, currency, day)
            if value is not None:
                converted.append(SubscriptionEvent(customer_id, day, value))
    return converted, convert.missing


def sales_marketing_cost_rows(*, start: dt.date, end: dt.date) -> list[tuple]:
    """GL lines on sales & marketing accounts (``Account.is_sales_marketing``) in the period
    (:func:`_ledger_cost_rows`: every caller sums by month)."""
    accounts = m.Account.all_objects.filter(is_sales_marketing=True).values("id")
    return _ledger_cost_rows(start=start, end=end, lines=Q(account_id__in=accounts))


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
    channels = _all_channel_names()
    rows = (
        m.Customer.objects.filter(acquisition_channel__isnull=False)
        .order_by()
        .values_list("id", "acquisition_channel_id")
    )
    return {
        pk: name
        for pk, channel in rows.iterator(chunk_size=10000)
        if (name := channels.get(channel)) is not None
    }


def paid_channel_names() -> list[str]:
    """Paid channels are configuration: the ``Channel.is_paid`` flag."""
    return list(m.Channel.objects.filter(is_paid=True).values_list("name", flat=True))


# --- retention, customer success and product development ROI ---------------------------------


@dataclass(frozen=True)
class CustomerDetails:
    """What a report shows of a customer behind a movement, and how it is filtered."""

    external_id: str
    name: str
    segment: str
    channel: str | None


def customer_details() -> dict[int, CustomerDetails]:
    """Customer id -> external id, name, segment (``""`` when none given) and acquisition
    channel name (None when not linked). Two queries."""
    rows = m.Customer.objects.order_by().values_list(
        "id", "external_id", "name", "segment", "acquisition_channel_id"
    )
    channels = _all_channel_names()
    return {
        pk: CustomerDetails(external_id, name, segment or "", channels.get(channel))
        for pk, external_id, name, segment, channel in rows.iterator(chunk_size=10000)
    }


def _all_channel_names() -> dict[int | None, str]:
    """Channel id -> name, channels the source deleted included (as a join would give):
    read once instead of joined to every customer row."""
    return dict(m.Channel.all_objects.values_list("id", "name"))


def _department_ids(names: Iterable[str]) -> QuerySet:
    """The ids of the departments named (names or codes), those the source deleted included
    (as a join from the GL lines gives them)."""
    names = list(names)
    return m.Department.all_objects.filter(Q(name__in=names) | Q(code__in=names)).values("id")


def _departments_q(names: Iterable[str]) -> Q:
    names = list(names)
    return Q(department__name__in=names) | Q(department__code__in=names)


def department_cost_by_month(
    *, start: dt.date, end: dt.date, departments: Iterable[str], convert: Converter
) -> dict[dt.date, Decimal]:
    """Σ GL lines in ``[start, end]`` on the departments named (names or codes) per month,
    in the reporting currency (:func:`_ledger_cost_rows`; a line without a rate is listed in
    ``convert.missing``). The customer-success cost of CS ROI."""
    lines = Q(department_id__in=_department_ids(departments))
    totals: dict[dt.date, Decimal] = defaultdict(Decimal)
    for currency, day, total in _ledger_cost_rows(start=start, end=end, lines=lines):
        value = convert(total, currency, day)
        if value is not None:
            totals[day.replace(day=1)] += value
    return dict(totals)


def department_cost_by_initiative(
    *, start: dt.date, end: dt.date, departments: Iterable[str], convert: Converter
) -> dict[int | None, Decimal]:
    """Σ GL lines in ``[start, end]`` on the departments named, per tagged initiative id
    (None: not tagged), in the reporting currency. The GL part of development cost."""
    rows = (
        m.GLLine.objects.filter(
            _departments_q(departments), posting_date__gte=start, posting_date__lte=end
        )
        .values("initiative_id", "currency_id", "posting_date")
        .annotate(total=Sum("amount"))
        .order_by()
        .values_list("initiative_id", "currency_id", "posting_date", "total")
    )
    totals: dict[int | None, Decimal] = defaultdict(Decimal)
    for initiative_id, currency, day, total in rows:
        value = convert(total, currency, day)
        if value is not None:
            totals[initiative_id] += value
    return dict(totals)


def initiatives() -> list[tuple]:
    """``(id, external_id, name, product, owner, start_date, end_date)`` of every initiative,
    by name."""
    return list(
        m.Initiative.objects.order_by("name", "id").values_list(
            "id", "external_id", "name", "product", "owner", "start_date", "end_date"
        )
    )


def initiative_amounts(
    *, end: dt.date, convert: Converter
) -> tuple[list[tuple], list[tuple], list[tuple]]:
    """Everything initiative ROI reads up to ``end`` (cumulative ROI counts from each
    initiative's start), Σ per (initiative, kind, day) in SQL and converted to the reporting
    currency; three queries:

    * costs: ``(initiative id, kind, day, amount)`` of initiative costs (kind gl / time /
      other; initiative id None while the initiative reference is pending: a time entry
      still counts in development cost);
    * tagged GL lines: ``(initiative id, day, amount, lines)``;
    * benefits: ``(initiative id, kind, day, amount)`` (kind revenue / retention).
    """
    costs = (
        m.InitiativeCost.objects.filter(date__lte=end)
        .values("initiative_id", "kind", "currency_id", "date")
        .annotate(total=Sum("amount"))
        .order_by()
        .values_list("initiative_id", "kind", "currency_id", "date", "total")
    )
    tagged = (
        m.GLLine.objects.filter(initiative__isnull=False, posting_date__lte=end)
        .values("initiative_id", "currency_id", "posting_date")
        .annotate(total=Sum("amount"), lines=Count("id"))
        .order_by()
        .values_list("initiative_id", "currency_id", "posting_date", "total", "lines")
    )
    benefits = (
        m.InitiativeBenefit.objects.filter(initiative__isnull=False, date__lte=end)
        .values("initiative_id", "kind", "currency_id", "date")
        .annotate(total=Sum("amount"))
        .order_by()
        .values_list("initiative_id", "kind", "currency_id", "date", "total")
    )

    def converted(rows, *, key_fields: int, extra: int = 0) -> list[tuple]:
        out = []
        for row in rows:
            keys, (currency, day, total) = row[:key_fields], row[key_fields : key_fields + 3]
            value = convert(total, currency, day)
            if value is not None:
                out.append((*keys, day, value, *row[key_fields + 3 : key_fields + 3 + extra]))
        return out

    return (
        converted(costs, key_fields=2),
        converted(tagged, key_fields=1, extra=1),
        converted(benefits, key_fields=2),
    )


def earliest_initiative_day() -> dt.date | None:
    """The first day any initiative cost, tagged GL line or benefit is dated (where the FX
    rates initiative ROI converts at start)."""
    days = [
        m.InitiativeCost.objects.aggregate(d=Min("date"))["d"],
        m.GLLine.objects.filter(initiative__isnull=False).aggregate(d=Min("posting_date"))["d"],
        m.InitiativeBenefit.objects.filter(initiative__isnull=False).aggregate(d=Min("date"))["d"],
    ]
    found = [day for day in days if day is not None]
    return min(found) if found else None


# --- dashboards: filter options and the records behind a figure (drill-downs) ---------------

#: Deal statuses and account types with their labels (drill-down tables show the labels).
DEAL_WON, DEAL_LOST = m.Deal.Status.WON, m.Deal.Status.LOST
DEAL_STATUS_LABELS = dict(m.Deal.Status.choices)
ACCOUNT_TYPE_LABELS = dict(m.Account.Type.choices)


def departments() -> list[tuple[int, str, str]]:
    """``(id, name, code)`` of every department, by name."""
    return list(m.Department.objects.order_by("name", "id").values_list("id", "name", "code"))


def channels() -> list[tuple[int, str, bool]]:
    """``(id, name, is_paid)`` of every channel, by name."""
    return list(m.Channel.objects.order_by("name", "id").values_list("id", "name", "is_paid"))


def campaigns() -> list[tuple[int, str, int | None]]:
    """``(id, name, channel id)`` of every campaign, by name."""
    return list(m.Campaign.objects.order_by("name", "id").values_list("id", "name", "channel_id"))


def sales_teams() -> list[tuple[int, str]]:
    """``(id, name)`` of every sales team, by name."""
    return list(m.SalesTeam.objects.order_by("name", "id").values_list("id", "name"))


def customer_segments() -> list[str]:
    """The segment names the customers carry (none given left out), by name."""
    return list(
        m.Customer.objects.exclude(segment="")
        .order_by("segment")
        .values_list("segment", flat=True)
        .distinct()
    )


def campaign_channel_names() -> dict[str, str]:
    """Campaign name → its channel's name (``NO_CHANNEL`` when it has none)."""
    return {
        name: channel or NO_CHANNEL
        for name, channel in m.Campaign.objects.order_by().values_list("name", "channel__name")
    }


def channel_ids() -> dict[str, int]:
    """Channel name → id (the report rows are keyed by name)."""
    return dict(m.Channel.objects.values_list("name", "id"))


def sales_rep_ids(names: Iterable[str]) -> dict[str, int]:
    """Rep name → id for the named reps (the report rows are keyed by name)."""
    return {
        name: pk
        for pk, name in m.SalesRep.objects.filter(name__in=set(names)).values_list("id", "name")
    }


def sales_rep_name(rep_id: int) -> str | None:
    return m.SalesRep.objects.filter(pk=rep_id).values_list("name", flat=True).first()


def gl_lines(
    *,
    start: dt.date,
    end: dt.date,
    department_id: int | None = None,
    no_department: bool = False,
    account_code: str = "",
    account_types: Iterable[str] | None = None,
    sales_marketing: bool = False,
    pending_account: bool = False,
    initiative_id: int | None = None,
) -> QuerySet:
    """GL lines posted in the period, narrowed to a department (or none), an account, some
    account types, the sales and marketing (CAC cost) accounts, the lines whose account
    reference is still pending (unclassified), or the lines tagged with an initiative."""
    lines = m.GLLine.objects.filter(posting_date__gte=start, posting_date__lte=end)
    if department_id is not None:
        lines = lines.filter(department_id=department_id)
    elif no_department:
        lines = lines.filter(department__isnull=True)
    if account_code:
        lines = lines.filter(account__code=account_code)
    if account_types is not None:
        lines = lines.filter(account__type__in=list(account_types))
    if sales_marketing:
        lines = lines.filter(account__is_sales_marketing=True)
    if pending_account:
        lines = lines.filter(account__isnull=True)
    if initiative_id is not None:
        lines = lines.filter(initiative_id=initiative_id)
    return lines


def initiative_name(initiative_id: int) -> str | None:
    return m.Initiative.objects.filter(pk=initiative_id).values_list("name", flat=True).first()


def initiative_records(
    *, kind: str, initiative_id: int, start: dt.date, end: dt.date, record_kind: str = ""
) -> QuerySet:
    """An initiative's cost (``kind="costs"``) or benefit (``"benefits"``) records dated in
    the period, optionally of one record kind (gl / time / other; revenue / retention)."""
    model = m.InitiativeCost if kind == "costs" else m.InitiativeBenefit
    records = model.objects.filter(initiative_id=initiative_id, date__gte=start, date__lte=end)
    return records.filter(kind=record_kind) if record_kind else records


def initiative_record_rows(records: QuerySet) -> QuerySet:
    """Drill-down rows of initiative costs / benefits, newest first (dicts)."""
    fields = ["date", "kind", "description", "amount", "currency_id", "external_id"]
    if records.model is m.InitiativeCost:
        fields += ["hours", "hourly_rate"]
    return records.order_by("-date", "-id").values(*fields)


def initiative_record_day_sums(records: QuerySet) -> list[tuple[str, dt.date, Decimal, int]]:
    """``(currency, date, Σ amount, records)`` of initiative costs / benefits (one query)."""
    return list(
        records.order_by()
        .values("currency_id", "date")
        .annotate(total=Sum("amount"), n=Count("id"))
        .values_list("currency_id", "date", "total", "n")
    )


def gl_line_rows(lines: QuerySet) -> QuerySet:
    """The drill-down rows of GL lines, newest first: ``(posting_date, account code, account
    name, account type, department name, description, amount, currency, external id)``."""
    return lines.order_by("-posting_date", "-id").values_list(
        "posting_date",
        "account__code",
        "account__name",
        "account__type",
        "department__name",
        "description",
        "amount",
        "currency_id",
        "external_id",
    )


def gl_line_day_sums(lines: QuerySet) -> list[tuple[str, dt.date, Decimal, int]]:
    """``(currency, posting date, Σ amount, lines)`` of the GL lines: what converting them
    into the reporting currency at each line's date needs, in one ``GROUP BY``."""
    return list(
        lines.order_by()
        .values("currency_id", "posting_date")
        .annotate(total=Sum("amount"), lines=Count("id"))
        .values_list("currency_id", "posting_date", "total", "lines")
    )


def gl_line_sums(lines: QuerySet) -> list[tuple[str, Decimal, int]]:
    """``(currency, Σ amount, lines)`` of the GL lines per currency."""
    return list(
        lines.order_by()
        .values("currency_id")
        .annotate(total=Sum("amount"), lines=Count("id"))
        .values_list("currency_id", "total", "lines")
    )


def closed_deals(
    *,
    start: dt.date,
    end: dt.date,
    rep_id: int | None = None,
    stage: str | None = None,
    status: str | None = None,
    team_id: int | None = None,
) -> QuerySet:
    """The deals behind a sales figure, newest first, as dicts: a stage → deals opened in
    the period at that stage (``""`` = no stage); otherwise deals closed in the period, of
    one rep and/or one status (won / lost). Optionally of one team."""
    low, high = period_bounds(start, end)
    deals = _deals(team_id)
    if stage is not None:
        deals = deals.filter(opened_at__gte=low, opened_at__lt=high, stage=stage)
    else:
        deals = deals.filter(closed_at__gte=low, closed_at__lt=high).exclude(
            status=m.Deal.Status.OPEN
        )
    if rep_id is not None:
        deals = deals.filter(rep_id=rep_id)
    if status is not None:
        deals = deals.filter(status=status)
    return deals.order_by(F("closed_at").desc(nulls_last=True), "-opened_at", "-id").values(
        "id",
        "external_id",
        "name",
        "stage",
        "status",
        "opened_at",
        "closed_at",
        "amount",
        "currency_id",
        rep_name=F("rep__name"),
        team_name=F("rep__team__name"),
    )


def group_touchpoints_q(*, group_by: str, key: str, prefix: str = "") -> Q:
    """The touchpoints an attribution row groups (the rules of :func:`attribution_inputs`):
    a campaign by name, or ``NO_CAMPAIGN``; a channel by the touchpoint's channel, else its
    campaign's channel, or ``NO_CHANNEL``."""
    p = prefix
    if group_by == GROUP_BY_CAMPAIGN:
        if key == NO_CAMPAIGN:
            return Q(**{f"{p}campaign__isnull": True})
        return Q(**{f"{p}campaign__name": key})
    if group_by != GROUP_BY_CHANNEL:
        raise ValueError(f"unknown group_by {group_by!r}")
    if key == NO_CHANNEL:
        return Q(**{f"{p}channel__isnull": True}) & (
            Q(**{f"{p}campaign__isnull": True}) | Q(**{f"{p}campaign__channel__isnull": True})
        )
    return Q(**{f"{p}channel__name": key}) | Q(
        **{f"{p}channel__isnull": True, f"{p}campaign__channel__name": key}
    )


def attributed_deals(
    *,
    group_by: str,
    key: str,
    start: dt.date,
    end: dt.date,
    lookback: dt.timedelta = DEFAULT_LOOKBACK,
) -> QuerySet:
    """Won deals closed in the period that the group's touchpoints helped convert: the deal's
    contact has a touchpoint of the group within the lookback before the close (docs/metrics.md,
    "Conversions and eligible touchpoints"). Rows as dicts, newest close first (an ``EXISTS``
    per deal, served by the ``contact, occurred_at`` touchpoint index)."""
    low, high = period_bounds(start, end)
    touched = m.Touchpoint.objects.filter(
        group_touchpoints_q(group_by=group_by, key=key),
        contact_id=OuterRef("contact_id"),
        occurred_at__lte=OuterRef("closed_at"),
        occurred_at__gte=OuterRef("closed_at") - lookback,
    )
    return (
        m.Deal.objects.filter(
            Exists(touched),
            status=m.Deal.Status.WON,
            closed_at__gte=low,
            closed_at__lt=high,
        )
        .order_by("-closed_at", "-id")
        .values(
            "id",
            "external_id",
            "name",
            "closed_at",
            "amount",
            "currency_id",
            "stage",
            contact_name=F("contact__name"),
            rep_name=F("rep__name"),
        )
    )


def group_touchpoints(
    *,
    group_by: str,
    key: str,
    start: dt.date,
    end: dt.date,
    lookback: dt.timedelta = DEFAULT_LOOKBACK,
) -> QuerySet:
    """The group's touchpoints the attribution of the period reads: from ``start - lookback``
    to the end of the period, newest first."""
    low, high = period_bounds(start, end)
    return (
        m.Touchpoint.objects.filter(
            group_touchpoints_q(group_by=group_by, key=key),
            occurred_at__gte=low - lookback,
            occurred_at__lt=high,
        )
        .order_by("-occurred_at", "-id")
        .values(
            "id",
            "external_id",
            "occurred_at",
            "type",
            contact_name=F("contact__name"),
            campaign_name=F("campaign__name"),
            channel_name=F("channel__name"),
        )
    )


# --- forecasts -------------------------------------------------------------------------------


def gl_initial_load_days() -> dict[int, dt.date]:
    """Per source, the (local) day it first stored GL lines: its initial load, a backfill
    whose timestamps say nothing about when the figures were known (one query)."""
    rows = m.GLLine.all_objects.values("source_id").annotate(first=Min("created_at")).order_by()
    return {source: local_date(first) for source, first in rows.values_list("source_id", "first")}


def ledger_totals_by_arrival(
    *, start: dt.date, end: dt.date, initial_load: dict[int, dt.date]
) -> list[tuple]:
    """Σ GL amount per (department code and name, account code and name, account type,
    currency, posting month, arrival month) in the period, the arrival month being the month
    a line was stored when that is after its source's initial load day (else None: unknown).
    Reporting-currency lines are grouped by posting month; the others by posting day, which
    their conversion needs (two queries)."""
    # Truncate outside the Case: inside it PostgreSQL's date_trunc result would arrive as a
    # naive datetime (the Case's DateField does not convert it), outside it is a date.
    arrival = TruncMonth(
        Case(
            *(
                When(
                    source_id=source,
                    created_at__gte=period_bounds(day, day)[1],
                    then=F("created_at"),
                )
                for source, day in initial_load.items()
            ),
            default=Value(None, output_field=DateTimeField()),
            output_field=DateTimeField(),
        ),
        output_field=DateField(),
    )
    fields = (*BUDGET_GROUPINGS["department_account"], "account__type", "currency_id")
    lines = m.GLLine.objects.filter(posting_date__gte=start, posting_date__lte=end).annotate(
        arrival=arrival
    )
    reporting = reporting_currency()

    def grouped(queryset: QuerySet, day: object) -> list[tuple]:
        return list(
            queryset.annotate(day=day)
            .values(*fields, "day", "arrival")
            .annotate(total=Sum("amount"))
            .order_by()
            .values_list(*fields, "day", "arrival", "total")
        )

    return grouped(
        lines.filter(currency_id=reporting), TruncMonth("posting_date", output_field=DateField())
    ) + grouped(lines.exclude(currency_id=reporting), F("posting_date"))
