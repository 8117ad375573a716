"""The sales report's fast reads give exactly the report of the reads they replaced.

The reference selectors and sales cycle below are the implementations before the sales page
was made fast for custom periods (no index-only grouping, no sorting here, Fractions compared
by ``statistics.median``). On random datasets (deals at any microsecond in a non-UTC time
zone, stages differing only by case, missing FX rates, invoices in other currencies, sales
cost in several currencies), the report with the reference reads patched in and the report
as it is serialise to the same JSON, for all teams and for one team.
"""

import datetime as dt
import json
import random
import statistics
from collections import defaultdict
from decimal import Decimal
from fractions import Fraction
from typing import Any

import pytest
from django.conf import settings as django_settings
from django.db.models import Count, Q, Sum
from django.utils import timezone

from finhub.core.money import Converter, to_decimal
from metrics import selectors
from metrics.computations.sales import SalesCycle
from metrics.reports import sales as sales_module
from metrics.reports.sales import sales_report
from records import models as m
from tests import factories as f

pytestmark = pytest.mark.django_db

START, END = dt.date(2026, 1, 1), dt.date(2026, 6, 30)
ZONE = "Europe/Paris"  # day boundaries at 23:00 / 22:00 UTC, across a DST change
STAGES = ["Demo", "demo", "Proposal", "Closed Won", "closed won ", "", "Zebra", "Lead"]
CURRENCIES = ["USD", "EUR", "GBP"]


# --- the reference: the reads and the cycle before the fast path ---------------------------


def reference_days(created, closed) -> Fraction:
    if isinstance(created, dt.datetime) and isinstance(closed, dt.datetime):
        delta = closed - created
        return Fraction(
            delta.days * 86_400 * 10**6 + delta.seconds * 10**6 + delta.microseconds, 86_400 * 10**6
        )
    return Fraction((closed - created).days)


def reference_sales_cycle(won_deals) -> SalesCycle:
    days = [reference_days(created, closed) for created, closed in won_deals]
    if not days:
        return SalesCycle(deals=0, median_days=None, mean_days=None)
    return SalesCycle(
        deals=len(days),
        median_days=to_decimal(statistics.median(days)),
        mean_days=to_decimal(sum(days, Fraction(0)) / len(days)),
    )


def reference_deal_outcomes(*, start, end, team_id=None) -> dict[str, int]:
    low, high = selectors.period_bounds(start, end)
    counts = (
        selectors._deals(team_id)
        .filter(closed_at__gte=low, closed_at__lt=high)
        .aggregate(
            won=Count("id", filter=Q(status=m.Deal.Status.WON)),
            lost=Count("id", filter=Q(status=m.Deal.Status.LOST)),
        )
    )
    return {"won": counts["won"] or 0, "lost": counts["lost"] or 0}


def reference_pipeline_totals(*, start, end, team_id=None) -> list[tuple]:
    low, high = selectors.period_bounds(start, end)
    return list(
        selectors._deals(team_id)
        .filter(opened_at__gte=low, opened_at__lt=high)
        .values("stage", "status", "currency_id", "opened_at__date")
        .annotate(deals=Count("id"), total=Sum("amount"))
        .order_by()
        .values_list("stage", "status", "currency_id", "opened_at__date", "deals", "total")
    )


def reference_sales_cost_rows(*, start, end) -> list[tuple]:
    names = list(getattr(django_settings, "FINHUB_SALES_DEPARTMENTS", ["Sales"]))
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


def reference_erp_revenue_by_deal(*, start, end, deal_currency) -> dict:
    low, high = selectors.period_bounds(start, end)
    totals = (
        m.Invoice.objects.filter(
            deal__status=m.Deal.Status.WON, deal__closed_at__gte=low, deal__closed_at__lt=high
        )
        .exclude(status__in=selectors.NON_REVENUE_INVOICE_STATUSES)
        .values("deal_id", "currency_id", "issue_date")
        .annotate(total=Sum("amount"))
        .order_by()
        .values_list("deal_id", "currency_id", "issue_date", "total")
    )
    by_deal = defaultdict(list)
    for deal_id, currency, day, total in totals:
        by_deal[deal_id].append((currency, day, total))
    result = {}
    convert: Converter | None = None
    for deal_id, rows in by_deal.items():
        own = deal_currency.get(deal_id)
        if all(currency == own for currency, _d, _t in rows):
            result[deal_id] = (own, sum((t for _c, _d, t in rows), Decimal(0)))
            continue
        if convert is None:
            days = [day for rows_ in by_deal.values() for _c, day, _t in rows_]
            convert = selectors.converter(start=min(days), end=max(days))
        values = [convert(total, currency, day) for currency, day, total in rows]
        result[deal_id] = (
            "reporting",
            None if None in values else sum((v for v in values if v is not None), Decimal(0)),
        )
    return result


REFERENCE_SELECTORS = {
    "deal_outcomes": reference_deal_outcomes,
    "pipeline_totals": reference_pipeline_totals,
    "sales_cost_rows": reference_sales_cost_rows,
    "erp_revenue_by_deal": reference_erp_revenue_by_deal,
}


def reference_report(monkeypatch, **kwargs) -> dict:
    with monkeypatch.context() as patch:
        for name, function in REFERENCE_SELECTORS.items():
            patch.setattr(selectors, name, function)
        patch.setattr(sales_module, "sales_cycle", reference_sales_cycle)
        return sales_report(**kwargs)


# --- random datasets -----------------------------------------------------------------------


def money(rng: random.Random, low: int = 1, high: int = 500_000) -> Decimal:
    return Decimal(rng.randint(low, high)).scaleb(-2)


def moment(rng: random.Random, first: dt.date, days: int) -> dt.datetime:
    start = dt.datetime.combine(first, dt.time.min, tzinfo=dt.UTC)
    return start + dt.timedelta(microseconds=rng.randrange(days * 86_400 * 10**6))


def build_dataset(seed: int) -> list[int]:
    """Random sales records around ``START``…``END``; returns the team ids."""
    rng = random.Random(seed)
    src = f.ConnectorFactory(name=f"crm-{seed}")
    day = START - dt.timedelta(days=120)
    while day <= END + dt.timedelta(days=120):
        for currency, rate in (("EUR", "1.1"), ("GBP", "1.3")):
            if rng.random() < 0.85:  # some days have no rate: missing FX
                f.FxRateFactory(
                    source=src,
                    currency_id=currency,
                    date=day,
                    rate=Decimal(rate) + rng.randint(0, 99) / Decimal(1000),
                )
        day += dt.timedelta(days=1)
    teams: list[Any] = [f.SalesTeamFactory(source=src, name=f"Team {n}") for n in range(2)]
    reps = [f.SalesRepFactory(source=src, team=teams[n % 2]) for n in range(4)]
    reps.append(f.SalesRepFactory(source=src, team=None))
    for rep in reps:
        for month in range(1, 7):
            first = dt.date(2026, month, 1)
            f.QuotaFactory(
                source=src,
                rep=rep,
                period_start=first,
                period_end=(first + dt.timedelta(days=32)).replace(day=1) - dt.timedelta(days=1),
                amount=money(rng, 100_000, 2_000_000),
                currency_id=rng.choice(CURRENCIES),
            )
    for _ in range(rng.randint(40, 90)):
        opened = moment(rng, START - dt.timedelta(days=90), 300)
        status = rng.choice(["won", "won", "lost", "open"])
        closed = None
        if status != "open":
            closed = opened + dt.timedelta(microseconds=rng.randrange(120 * 86_400 * 10**6))
            if rng.random() < 0.2:  # on a local midnight: a day that only the time zone decides
                local = closed.astimezone(timezone.get_current_timezone())
                closed = local.replace(hour=0, minute=0, second=0, microsecond=0)
                closed = max(closed, opened)
        currency = rng.choice(CURRENCIES)
        amount = money(rng)
        deal = f.DealFactory(
            source=src,
            name=f"Deal {rng.randint(1, 10**6)}",
            stage=rng.choice(STAGES),
            status=status,
            opened_at=opened,
            closed_at=closed,
            amount=amount,
            currency_id=currency,
            rep=rng.choice([*reps, None]),
        )
        if closed is not None and status == "won" and rng.random() < 0.85:
            for _ in range(rng.randint(1, 3)):
                foreign = rng.random() < 0.25
                f.InvoiceFactory(
                    source=src,
                    deal=deal,
                    issue_date=closed.date() + dt.timedelta(days=rng.randint(0, 30)),
                    amount=amount if rng.random() < 0.6 else money(rng),
                    currency_id=rng.choice(CURRENCIES) if foreign else currency,
                    status=rng.choice(["paid", "open", "draft", "void", "paid"]),
                )
    sales = f.DepartmentFactory(source=src, name="Sales")
    engineering = f.DepartmentFactory(source=src, name="Engineering")
    accounts = [
        f.AccountFactory(source=src, type=kind) for kind in ("expense", "cost_of_sales", "revenue")
    ]
    for _ in range(rng.randint(30, 80)):
        f.GLLineFactory(
            source=src,
            account=rng.choice(accounts),
            department=rng.choice([sales, sales, engineering]),
            posting_date=START + dt.timedelta(days=rng.randint(-20, 200)),
            amount=money(rng, -50_000, 500_000),
            currency_id=rng.choice(CURRENCIES),
        )
    return [team.pk for team in teams]


@pytest.mark.parametrize("seed", range(6))
def test_sales_report_equals_the_reference_reads(seed, monkeypatch, settings):
    settings.FINHUB_REPORTING_CURRENCY = "USD"
    with timezone.override(ZONE):
        team_ids = build_dataset(seed)
        for start, end in ((START, END), (dt.date(2026, 3, 1), dt.date(2026, 3, 31))):
            for team_id in (None, *team_ids):
                kwargs = {"start": start, "end": end, "team_id": team_id}
                expected = reference_report(monkeypatch, **kwargs)
                result = sales_report(**kwargs)
                assert json.dumps(result) == json.dumps(expected)
                if team_id is None and start == START:
                    # The dataset exercises what the fast path must keep exactly.
                    assert result["won_deals"] and result["pipeline"] and result["mismatches"]
                    assert result["sales_cost"] != "0.00"


def test_fast_selectors_equal_the_reference_rows(settings):
    settings.FINHUB_REPORTING_CURRENCY = "USD"
    with timezone.override(ZONE):
        build_dataset(99)
        kwargs = {"start": START, "end": END}
        pipeline = selectors.pipeline_totals(**kwargs)
        assert pipeline == sorted(reference_pipeline_totals(**kwargs))
        assert [row[:4] for row in pipeline] == sorted(row[:4] for row in pipeline)
        assert selectors.sales_cost_rows(**kwargs) == sorted(reference_sales_cost_rows(**kwargs))
        assert selectors.deal_outcomes(**kwargs) == reference_deal_outcomes(**kwargs)
        won = selectors.won_deal_details(**kwargs)
        currencies = {row[0]: row[6] for row in won}
        fast = selectors.erp_revenue_by_deal(**kwargs, deal_currency=currencies)
        reference = reference_erp_revenue_by_deal(**kwargs, deal_currency=currencies)
        assert {k: (c, str(v)) for k, (c, v) in fast.items()} == {
            k: (c, str(v)) for k, (c, v) in reference.items()
        }


def test_a_deal_closed_after_local_midnight_counts_on_the_local_day(settings):
    """The report's day of a deal is its local date (selectors.local_date), not its UTC one:
    closed 31 Mar 22:30 UTC = 1 Apr 00:30 in Paris counts towards April's quota."""
    settings.FINHUB_REPORTING_CURRENCY = "USD"
    src = f.ConnectorFactory(name="crm")
    rep = f.SalesRepFactory(source=src, name="Rita")
    for first, last in (
        (dt.date(2026, 3, 1), dt.date(2026, 3, 31)),
        (dt.date(2026, 4, 1), dt.date(2026, 4, 30)),
    ):
        f.QuotaFactory(source=src, rep=rep, period_start=first, period_end=last, amount="1000.00")
    closed = dt.datetime(2026, 3, 31, 22, 30, tzinfo=dt.UTC)
    f.DealFactory(
        source=src,
        rep=rep,
        amount="250.00",
        opened_at=closed - dt.timedelta(days=3),
        closed_at=closed,
    )
    with timezone.override(ZONE):
        report = sales_report(start=dt.date(2026, 3, 1), end=dt.date(2026, 4, 30))
    march, april = report["quota_attainment"]["reps"]
    assert (march["won_revenue"], april["won_revenue"]) == ("0.00", "250.00")
    assert report["sales_cycle_days"]["median"] == "3"
