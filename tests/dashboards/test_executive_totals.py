"""Issue #19 (and #18 items 4, 9): every total on the executive page and in the budget-variance
API equals, to the cent, the same total computed here the raw way — straight from the GL and
budget lines, converted by hand at each line's own FX rate, rounded once. Ledger lines in
three currencies with odd cents make a total of rounded parts differ from the true total.

Also: a line whose account is pending counts (unclassified, with a link to it); the outturn
is as of the last closed month whichever period is viewed; the budget of a period covers the
days of its actuals (a month covered in part counts with the share of its days).
"""

import datetime as dt
from decimal import ROUND_HALF_UP, Decimal

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from dashboards.tables import format_value
from finhub.core.calendar import budget_share
from records import models as m
from tests import factories as f
from tests.dashboards.helpers import cell_texts, csv_dicts, export

URL = "/dashboards/executive/"
DRILL = "/dashboards/drill/gl-lines/"
TODAY = dt.date(2026, 12, 2)
Q3 = {"period": "quarter", "quarter": "2026-Q3"}
Q3_DATES = (dt.date(2026, 7, 1), dt.date(2026, 9, 30))
YTD = {"period": "ytd", "year": "2026"}
YTD_DATES = (dt.date(2026, 1, 1), TODAY)
EXPENSES = ("cost_of_sales", "expense")
CENT = Decimal("0.01")
# Posting days of every month; a rate into USD for each currency on each of them and on the
# 1st (budget lines convert at the first day of their month).
DAYS = (1, 2, 3, 17)


def cents(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def usd(value: Decimal) -> str:
    return format_value(cents(value), "money", "USD")


@pytest.fixture(autouse=True)
def today(monkeypatch):
    """2 Dec 2026: November is the last closed month; the year to date ends on 2 Dec."""
    monkeypatch.setattr("django.utils.timezone.localdate", lambda *a, **k: TODAY)


@pytest.fixture
def books(db, settings):
    settings.FINHUB_REPORTING_CURRENCY = "USD"
    src = f.ConnectorFactory(name="ERP", kind="erp")
    departments = [
        f.DepartmentFactory(source=src, name="Sales", code="SAL"),
        f.DepartmentFactory(source=src, name="Engineering", code="ENG"),
        f.DepartmentFactory(source=src, name="Admin", code="ADM"),
    ]
    accounts = [
        f.AccountFactory(source=src, code="4000", name="Revenue", type="revenue"),
        f.AccountFactory(source=src, code="5000", name="Hosting", type="cost_of_sales"),
        f.AccountFactory(source=src, code="6100", name="Rent", type="expense"),
        f.AccountFactory(source=src, code="6200", name="Travel", type="expense"),
    ]
    for year in (2025, 2026):
        for month in range(1, 13):
            for day in DAYS:
                on = dt.date(year, month, day)
                f.FxRateFactory(
                    source=src,
                    currency_id="EUR",
                    date=on,
                    rate=Decimal("1.0837") + Decimal(day) / 10000,
                )
                f.FxRateFactory(
                    source=src,
                    currency_id="GBP",
                    date=on,
                    rate=Decimal("1.2713") - Decimal(month) / 1000,
                )
    budget = f.BudgetFactory(source=src, fiscal_year=2026)
    seq = 0
    for year, last in ((2025, 12), (2026, 12)):
        for month in range(1, last + 1):
            for d_index, department in enumerate(departments):
                for a_index, account in enumerate(accounts):
                    for currency in ("USD", "EUR", "GBP"):
                        seq += 1
                        # Odd cents, so rounded parts would not add up to the total.
                        cents_part = Decimal((seq * 7) % 100) / 100
                        amount = Decimal(100 + 37 * a_index + 11 * d_index + month) + cents_part
                        day = DAYS[(seq % 3) + 1]
                        f.GLLineFactory(
                            source=src,
                            account=account,
                            department=department,
                            posting_date=dt.date(year, month, day),
                            amount=amount * (10 if account.type == "revenue" else 1),
                            currency_id=currency,
                        )
                        if year == 2026:
                            f.BudgetLineFactory(
                                source=src,
                                budget=budget,
                                account=account,
                                department=department,
                                month=dt.date(2026, month, 1),
                                amount=amount * (10 if account.type == "revenue" else 1)
                                + Decimal("3.33"),
                                currency_id=currency,
                            )
    # A line whose account reference is pending (no such code yet): August, Sales, EUR.
    pending = f.GLLineFactory(
        source=src,
        account=None,
        account_external_id="ACC-4999",
        department=departments[0],
        posting_date=dt.date(2026, 8, 17),
        amount=Decimal("1357.29"),
        currency_id="EUR",
        external_id="JE-1001-1",
    )
    return {"departments": departments, "accounts": accounts, "budget": budget, "pending": pending}


# --- the raw way: ORM rows converted by hand -------------------------------------------------


def rate(currency: str, on: dt.date) -> Decimal:
    if currency == "USD":
        return Decimal(1)
    return m.FxRate.objects.get(currency_id=currency, quote_currency_id="USD", date=on).rate


def raw_actual(start, end, types=None, department=None, pending=False) -> Decimal:
    lines = m.GLLine.objects.filter(posting_date__gte=start, posting_date__lte=end)
    if pending:
        lines = lines.filter(account__isnull=True)
    elif types is not None:
        lines = lines.filter(account__type__in=types)
    if department is not None:
        lines = lines.filter(department=department)
    return sum(
        (
            amount * rate(currency, day)
            for amount, currency, day in lines.values_list("amount", "currency_id", "posting_date")
        ),
        Decimal(0),
    )


def raw_budget(start, end, types, department=None, account=None) -> Decimal:
    """Σ budget lines of the months the period touches, each month by the share of its days
    inside the period (counted here by hand)."""
    lines = m.BudgetLine.objects.filter(
        budget__is_current=True, account__type__in=types, month__lte=end
    )
    if department is not None:
        lines = lines.filter(department=department)
    if account is not None:
        lines = lines.filter(account=account)
    total = Decimal(0)
    for amount, currency, month in lines.values_list("amount", "currency_id", "month"):
        last_day = (month.replace(day=28) + dt.timedelta(days=4)).replace(day=1) - dt.timedelta(
            days=1
        )
        first, last = max(month, start), min(last_day, end)
        if first > last:
            continue
        share = Decimal((last - first).days + 1) / Decimal(last_day.day)
        total += amount * rate(currency, month) * share
    return total


def raw_outturn(types) -> Decimal:
    """FY2026 as of 2 Dec 2026: actuals January to November + December's budget."""
    return raw_actual(dt.date(2026, 1, 1), dt.date(2026, 11, 30), types) + raw_budget(
        dt.date(2026, 12, 1), dt.date(2026, 12, 31), types
    )


def summary(client, params) -> dict[str, list[str]]:
    response = client.get(URL, params)
    assert response.status_code == 200
    return {row[0]: row for row in cell_texts(response.content.decode(), "summary")}


# --- #19.1: every executive total equals the raw total to the cent ----------------------------


def test_summary_totals_equal_the_raw_totals(viewer_client, books):
    rows = summary(viewer_client, Q3)
    revenue = raw_actual(*Q3_DATES, ["revenue"])
    cost_of_sales = raw_actual(*Q3_DATES, ["cost_of_sales"])
    expense = raw_actual(*Q3_DATES, ["expense"])
    budget_rev = raw_budget(*Q3_DATES, ["revenue"])
    budget_exp = raw_budget(*Q3_DATES, EXPENSES)
    assert rows["Revenue"][1] == usd(revenue)
    assert rows["Cost of sales"][1] == usd(cost_of_sales)
    assert rows["Operating expenses"][1] == usd(expense)
    assert rows["Total expenses"][1] == usd(cost_of_sales + expense)
    assert rows["Operating income"][1] == usd(revenue - cost_of_sales - expense)
    assert rows["Revenue"][6] == usd(budget_rev)
    assert rows["Total expenses"][6] == usd(budget_exp)
    assert rows["Operating income"][6] == usd(budget_rev - budget_exp)
    assert rows["Operating income"][7] == usd(
        revenue - cost_of_sales - expense - (budget_rev - budget_exp)
    )
    prior = (dt.date(2026, 4, 1), dt.date(2026, 6, 30))
    last_year = (dt.date(2025, 7, 1), dt.date(2025, 9, 30))
    assert rows["Total expenses"][2] == usd(raw_actual(*prior, EXPENSES))
    assert rows["Total expenses"][4] == usd(raw_actual(*last_year, EXPENSES))


def test_twelve_month_trend_equals_the_raw_months(viewer_client, books):
    response = viewer_client.get(URL, Q3)
    rows = cell_texts(response.content.decode(), "trend")
    assert len(rows) == 12
    month = dt.date(2025, 10, 1)
    for row in rows:
        end = (month.replace(day=28) + dt.timedelta(days=4)).replace(day=1) - dt.timedelta(days=1)
        revenue = raw_actual(month, end, ["revenue"])
        expenses = raw_actual(month, end, EXPENSES)
        assert row[0] == month.strftime("%b %Y")
        assert row[1] == usd(revenue)
        assert row[3] == usd(expenses)
        assert row[5] == usd(revenue - expenses)
        if month.year == 2026:
            budget = raw_budget(month, end, ["revenue"]) - raw_budget(month, end, EXPENSES)
            assert row[2] == usd(raw_budget(month, end, ["revenue"]))
            assert row[6] == usd(budget)
        month = end + dt.timedelta(days=1)


def test_department_and_account_variances_equal_the_raw_totals(viewer_client, books):
    html = viewer_client.get(URL, Q3).content.decode()
    by_department = {(r[0], r[1]): r for r in cell_texts(html, "department_variances")}
    for department in books["departments"]:
        for kind, label in (("revenue", "Revenue"), ("expense", "Operating expenses")):
            row = by_department[(department.name, label)]
            actual = raw_actual(*Q3_DATES, [kind], department)
            budget = raw_budget(*Q3_DATES, [kind], department)
            assert row[2:5] == [usd(actual), usd(budget), usd(actual - budget)]
    by_account = {r[0]: r for r in cell_texts(html, "account_variances")}
    rent = books["accounts"][2]
    lines = m.GLLine.objects.filter(account=rent)
    actual = sum(
        (
            a * rate(c, d)
            for a, c, d in lines.filter(
                posting_date__gte=Q3_DATES[0], posting_date__lte=Q3_DATES[1]
            ).values_list("amount", "currency_id", "posting_date")
        ),
        Decimal(0),
    )
    assert by_account["6100 Rent"][2:4] == [
        usd(actual),
        usd(raw_budget(*Q3_DATES, ["expense"], account=rent)),
    ]


def test_outturn_equals_the_raw_outturn(viewer_client, books):
    html = viewer_client.get(URL, Q3).content.decode()
    rows = {r[0]: r for r in cell_texts(html, "outturn")}
    revenue, expenses = raw_outturn(["revenue"]), raw_outturn(EXPENSES)
    full_year = raw_budget(dt.date(2026, 1, 1), dt.date(2026, 12, 31), ["revenue"])
    assert rows["Revenue"][1:3] == [usd(full_year), usd(revenue)]
    assert rows["Total expenses"][2] == usd(expenses)
    assert rows["Operating income"][2] == usd(revenue - expenses)


def test_exports_equal_the_raw_totals(viewer_client, books):
    rows = {r["Measure"]: r for r in csv_dicts(export(viewer_client, URL, Q3, "summary"))}
    revenue = raw_actual(*Q3_DATES, ["revenue"])
    expenses = raw_actual(*Q3_DATES, EXPENSES)
    current = next(k for k in rows["Revenue"] if k.startswith("This period"))
    assert Decimal(rows["Operating income"][current]) == cents(revenue - expenses)
    assert Decimal(rows["Total expenses"][current]) == cents(expenses)


def api_variance(finance_viewer, start, end, group_by="department") -> dict:
    client = APIClient()
    client.force_authenticate(finance_viewer)
    response = client.get(
        reverse("metrics-budget-variance"),
        {"start": start.isoformat(), "end": end.isoformat(), "group_by": group_by},
    )
    assert response.status_code == 200, response.content[:300]
    return response.json()["result"]


def test_api_totals_equal_the_raw_totals(finance_viewer, books):
    result = api_variance(finance_viewer, *Q3_DATES)
    totals = {t["account_type"]: t for t in result["totals"]}
    for kind in ("revenue", "cost_of_sales", "expense"):
        actual = raw_actual(*Q3_DATES, [kind])
        budget = raw_budget(*Q3_DATES, [kind])
        assert Decimal(totals[kind]["actual"]) == cents(actual)
        assert Decimal(totals[kind]["budget"]) == cents(budget)
        assert Decimal(totals[kind]["variance"]) == cents(actual - budget)
        assert Decimal(totals[kind]["full_year_outturn"]) == cents(raw_outturn([kind]))
    assert Decimal(totals["unclassified"]["actual"]) == cents(raw_actual(*Q3_DATES, pending=True))


# --- #19.2: the pending line counts, unclassified, with a link to it --------------------------


def test_pending_line_is_counted_as_unclassified_with_a_link(viewer_client, finance_viewer, books):
    pending = raw_actual(*Q3_DATES, pending=True)
    assert pending == Decimal("1357.29") * rate("EUR", dt.date(2026, 8, 17))
    response = viewer_client.get(URL, Q3)
    html = response.content.decode()
    rows = {row[0]: row for row in cell_texts(html, "summary")}
    assert rows["Unclassified (pending reference)"][1] == usd(pending)
    assert 'id="unclassified"' in html and usd(pending) in html
    assert "type=unclassified" in html
    drill = viewer_client.get(DRILL, {**Q3, "type": "unclassified"})
    assert drill.status_code == 200
    lines = cell_texts(drill.content.decode(), "gl_lines")
    assert [line[-1] for line in lines] == ["JE-1001-1"]
    assert f"Total {usd(pending)}" in drill.content.decode()
    # Counted in its department's (Sales) and the period's totals.
    result = api_variance(finance_viewer, *Q3_DATES)
    sales = [r for r in result["rows"] if r["key"] == "SAL" and r["account_type"] == "unclassified"]
    assert [Decimal(r["actual"]) for r in sales] == [cents(pending)]


# --- #19.3: the outturn is as of the last closed month, whatever the period --------------------


def test_outturn_is_the_same_whichever_period_is_viewed(viewer_client, finance_viewer, books):
    seen = set()
    for params in (
        Q3,
        YTD,
        {"period": "month", "month": "2026-02"},
        {"period": "quarter", "quarter": "2026-Q4"},
    ):
        html = viewer_client.get(URL, params).content.decode()
        seen.add(tuple(tuple(r) for r in cell_texts(html, "outturn")))
        assert "last closed month (November 2026" in html
    assert len(seen) == 1
    for start, end in (Q3_DATES, (dt.date(2026, 2, 1), dt.date(2026, 2, 28))):
        result = api_variance(finance_viewer, start, end, "account_type")
        assert result["closed_through"] == "2026-11-01"
        revenue = next(t for t in result["totals"] if t["account_type"] == "revenue")
        assert Decimal(revenue["full_year_outturn"]) == cents(raw_outturn(["revenue"]))


# --- #19.4 / #18.4: the budget covers the days of the actuals ---------------------------------


def test_budget_share_of_a_month():
    december = dt.date(2026, 12, 1)
    assert budget_share(december, dt.date(2026, 1, 1), TODAY) == Decimal(2) / Decimal(31)
    assert budget_share(december, dt.date(2026, 12, 1), dt.date(2026, 12, 31)) == 1
    assert budget_share(december, dt.date(2026, 1, 1), dt.date(2026, 11, 30)) == 0
    assert budget_share(dt.date(2026, 2, 1), dt.date(2026, 2, 15), dt.date(2026, 3, 31)) == (
        Decimal(14) / Decimal(28)
    )


def test_year_to_date_budget_covers_the_same_days_on_every_consumer(
    viewer_client, finance_viewer, books
):
    # Year to date on 2 Dec: January to November budget + 2/31 of December's, not all of it.
    revenue_budget = raw_budget(*YTD_DATES, ["revenue"])
    whole_december = raw_budget(dt.date(2026, 1, 1), dt.date(2026, 12, 31), ["revenue"])
    assert cents(revenue_budget) != cents(whole_december)
    rows = summary(viewer_client, YTD)
    assert rows["Revenue"][6] == usd(revenue_budget)  # executive summary
    html = viewer_client.get(URL, YTD).content.decode()
    assert "share of its days" in html  # the rule is stated on the page
    sales = books["departments"][0]
    by_department = {(r[0], r[1]): r for r in cell_texts(html, "department_variances")}
    assert by_department[("Sales", "Revenue")][3] == usd(
        raw_budget(*YTD_DATES, ["revenue"], sales)
    )  # department variances
    rent = books["accounts"][2]
    by_account = {r[0]: r for r in cell_texts(html, "account_variances")}
    assert by_account["6100 Rent"][3] == usd(raw_budget(*YTD_DATES, ["expense"], account=rent))
    exported = {r["Measure"]: r for r in csv_dicts(export(viewer_client, URL, YTD, "summary"))}
    budget_column = next(k for k in exported["Revenue"] if k.startswith("Budget"))
    assert Decimal(exported["Revenue"][budget_column]) == cents(revenue_budget)  # export
    result = api_variance(finance_viewer, *YTD_DATES, "account")  # API
    rent_row = next(r for r in result["rows"] if r["key"] == "6100")
    assert Decimal(rent_row["budget"]) == cents(raw_budget(*YTD_DATES, ["expense"], account=rent))


# --- #18.9: the drill reproduces the clicked figure, with a way back --------------------------


def test_drill_total_is_the_clicked_figure_in_the_reporting_currency(viewer_client, books):
    rows = summary(viewer_client, Q3)
    drill = viewer_client.get(DRILL, {**Q3, "type": "revenue"}).content.decode()
    assert f"Total {rows['Revenue'][1]}" in drill
    assert "EUR " in drill and "GBP " in drill  # the per-currency breakdown
    assert 'id="drill-back"' in drill and 'href="/dashboards/executive/?' in drill
    assert "quarter=2026-Q3" in drill.split('id="drill-back"')[0].rsplit("<a", 1)[1]
