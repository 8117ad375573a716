"""The executive dashboard: figures from the database, period and filter changes in the URL,
drill-down to GL lines, exports, permissions and bounded queries."""

import datetime as dt
from decimal import Decimal

import pytest
from django.db.models import Sum

from dashboards.tables import format_value
from metrics.models import MetricSnapshot
from records import models as m
from tests import factories as f
from tests.dashboards.conftest import MARCH
from tests.dashboards.helpers import cell_texts, csv_dicts, export, query_count

URL = "/dashboards/executive/"
DRILL = "/dashboards/drill/gl-lines/"


def db_total(start, end, types, department=None):
    lines = m.GLLine.objects.filter(
        posting_date__gte=start, posting_date__lte=end, account__type__in=types
    )
    if department is not None:
        lines = lines.filter(department=department)
    return lines.aggregate(total=Sum("amount"))["total"] or Decimal(0)


def db_budget(start, end, types, department=None):
    lines = m.BudgetLine.objects.filter(
        month__gte=start, month__lte=end, account__type__in=types, budget__is_current=True
    )
    if department is not None:
        lines = lines.filter(department=department)
    return lines.aggregate(total=Sum("amount"))["total"] or Decimal(0)


MAR = (dt.date(2026, 3, 1), dt.date(2026, 3, 31))
FEB = (dt.date(2026, 2, 1), dt.date(2026, 2, 28))
MAR_2025 = (dt.date(2025, 3, 1), dt.date(2025, 3, 31))
EXPENSES = ["cost_of_sales", "expense"]


def summary_rows(response) -> dict[str, list[str]]:
    return {row[0]: row for row in cell_texts(response.content.decode(), "summary")}


def usd(value):
    return format_value(value, "money", "USD")


def test_summary_figures_equal_the_ledger(viewer_client, company):
    response = viewer_client.get(URL, MARCH)
    assert response.status_code == 200
    rows = summary_rows(response)
    revenue = db_total(*MAR, ["revenue"])
    expenses = db_total(*MAR, EXPENSES)
    assert rows["Revenue"][1] == usd(revenue) == "USD 1,200.00"
    assert rows["Revenue"][2] == usd(db_total(*FEB, ["revenue"]))
    assert rows["Revenue"][4] == usd(db_total(*MAR_2025, ["revenue"]))
    assert rows["Total expenses"][1] == usd(expenses) == "USD 800.00"
    assert rows["Operating income"][1] == usd(revenue - expenses)
    budget = db_budget(*MAR, ["revenue"]) - db_budget(*MAR, EXPENSES)
    assert rows["Operating income"][6] == usd(budget) == "USD 350.00"
    assert rows["Operating income"][7] == usd(revenue - expenses - budget) == "USD 50.00"
    assert rows["Operating margin"][1] == "33.3%"
    html = response.content.decode()
    # Expenses under budget: favourable (green); cost of sales over budget: unfavourable.
    assert 'class="num favourable"><a' not in html  # classes sit on the td, link only on col 1
    assert "num favourable" in html and "num unfavourable" in html


def test_department_filter_narrows_every_budget_figure(viewer_client, company):
    sales = company["departments"]["SAL"]
    response = viewer_client.get(URL, {**MARCH, "department": sales.pk})
    assert response.status_code == 200
    rows = summary_rows(response)
    assert rows["Revenue"][1] == usd(db_total(*MAR, ["revenue"], sales)) == "USD 1,000.00"
    assert rows["Total expenses"][1] == usd(db_total(*MAR, EXPENSES, sales)) == "USD 350.00"
    assert rows["Revenue"][6] == usd(db_budget(*MAR, ["revenue"], sales))
    accounts = cell_texts(response.content.decode(), "account_variances")
    # Sales department: advertising 250 vs 400 budget is its largest variance.
    assert accounts[0][0] == "6500 Advertising"
    assert accounts[0][4] == "\u2212USD 150.00"
    html = response.content.decode()
    assert f'<option value="{sales.pk}" selected>Sales</option>' in html


def test_period_change_in_the_url(viewer_client, company):
    quarter = viewer_client.get(URL, {"period": "quarter", "quarter": "2026-Q1"})
    rows = summary_rows(quarter)
    q1 = (dt.date(2026, 1, 1), dt.date(2026, 3, 31))
    assert rows["Revenue"][1] == usd(db_total(*q1, ["revenue"])) == "USD 3,600.00"
    # prior quarter = Q4 2025
    assert rows["Revenue"][2] == usd(
        db_total(dt.date(2025, 10, 1), dt.date(2025, 12, 31), ["revenue"])
    )
    custom = viewer_client.get(URL, {"period": "custom", "from": "2026-03-01", "to": "2026-03-15"})
    assert summary_rows(custom)["Revenue"][1] == usd(
        db_total(dt.date(2026, 3, 1), dt.date(2026, 3, 15), ["revenue"])
    )
    ytd = viewer_client.get(URL, {"period": "ytd", "year": "2025"})
    assert summary_rows(ytd)["Revenue"][1] == usd(
        db_total(dt.date(2025, 1, 1), dt.date(2025, 12, 31), ["revenue"])
    )


@pytest.mark.parametrize(
    "params, message",
    [
        ({"period": "month", "month": "2026-13"}, "month: &#x27;2026-13&#x27; is not a month"),
        (
            {"period": "custom", "from": "2026-03-10", "to": "2026-03-01"},
            "to: must not be before from.",
        ),
        ({"period": "weekly"}, "period: &#x27;weekly&#x27; is not one of"),
        ({"department": "abc"}, "department: &#x27;abc&#x27; is not a department id."),
        ({"department": "999999"}, "department: no department has id 999999"),
        ({**MARCH, "table": "nope", "format": "csv"}, "table: &#x27;nope&#x27; is not a table"),
        ({**MARCH, "table": "summary", "format": "pdf"}, "format: &#x27;pdf&#x27; is not one of"),
    ],
)
def test_bad_parameters_answer_400_naming_them(viewer_client, company, params, message):
    response = viewer_client.get(URL, params)
    assert response.status_code == 400
    assert message in response.content.decode()


def test_trend_bars_and_rows_link_to_the_month_gl_lines(viewer_client, company):
    response = viewer_client.get(URL, MARCH)
    html = response.content.decode()
    assert "chart-trend-data" in html
    link = f"{DRILL}?period=month&amp;month=2026-03&amp;type=revenue"
    assert link in html  # a trend bar / revenue cell
    drill = viewer_client.get(DRILL, {**MARCH, "type": "revenue"})
    rows = cell_texts(drill.content.decode(), "gl_lines")
    expected = m.GLLine.objects.filter(
        posting_date__gte=MAR[0], posting_date__lte=MAR[1], account__type="revenue"
    )
    assert len(rows) == expected.count() == 2
    assert {row[5] for row in rows} == {"1,000.00", "200.00"}
    assert "Sum: USD 1,200.00 (2 lines)" in drill.content.decode()


def test_variance_row_drills_to_its_gl_lines(viewer_client, company):
    sales = company["departments"]["SAL"]
    html = viewer_client.get(URL, MARCH).content.decode()
    link = f"{DRILL}?period=month&amp;month=2026-03&amp;type=expense&amp;department={sales.pk}"
    assert link in html
    drill = viewer_client.get(DRILL, {**MARCH, "type": "expense", "department": sales.pk})
    rows = cell_texts(drill.content.decode(), "gl_lines")
    assert sorted(row[5] for row in rows) == ["100.00", "250.00"]
    assert all(row[3] == "Sales" for row in rows)
    # the account drill
    account = viewer_client.get(DRILL, {**MARCH, "account": "6500"})
    assert [row[1] for row in cell_texts(account.content.decode(), "gl_lines")] == [
        "6500 Advertising"
    ]


def test_drill_paginates_and_exports_every_row(viewer_client, company):
    acc = company["accounts"]["6100"]
    m.GLLine.objects.bulk_create(
        m.GLLine(
            source=company["src"],
            external_id=f"extra-{i}",
            account=acc,
            posting_date=dt.date(2026, 3, 20),
            amount=Decimal("1.00"),
            currency_id="USD",
        )
        for i in range(120)
    )
    params = {**MARCH, "account": "6100"}
    first = viewer_client.get(DRILL, params).content.decode()
    assert len(cell_texts(first, "gl_lines")) == 50
    assert "Rows 1\u201350 of 122" in first
    last = viewer_client.get(DRILL, {**params, "page": 3}).content.decode()
    assert len(cell_texts(last, "gl_lines")) == 22
    rows = csv_dicts(export(viewer_client, DRILL, params, "gl_lines"))
    assert len(rows) == 122 + 1  # every line + the totals row
    assert rows[-1]["Amount"] == "520.00"


def test_csv_and_xlsx_exports_of_every_table(viewer_client, company):
    rows = csv_dicts(export(viewer_client, URL, MARCH, "summary"))
    revenue = next(r for r in rows if r["Measure"] == "Revenue")
    assert revenue["This period (USD)"] == "1200.00"
    assert Decimal(revenue["This period (USD)"]) == db_total(*MAR, ["revenue"])
    assert next(r for r in rows if r["Measure"] == "Operating expenses")["Variance (USD)"] == (
        "-100.00"  # a real negative number, not text
    )
    html = viewer_client.get(URL, MARCH).content.decode()
    for table in (
        "summary",
        "trend",
        "department_variances",
        "account_variances",
        "outturn",
        "channel_revenue",
        "unit_economics",
    ):
        assert f"table={table}&amp;format=csv" in html
        response = export(viewer_client, URL, MARCH, table)
        assert response.status_code == 200, table
        xlsx = export(viewer_client, URL, MARCH, table, "xlsx")
        assert xlsx.status_code == 200
        assert xlsx.content[:2] == b"PK"


def test_exports_are_formula_safe(viewer_client, company):
    f.ChannelFactory(source=company["channels"]["Search"].source, name="=HYPERLINK(1)")
    company["channels"]["Email"].name = "=cmd|' /C calc'!A0"
    company["channels"]["Email"].save()
    MetricSnapshot.objects.all().delete()
    rows = csv_dicts(export(viewer_client, URL, MARCH, "channel_revenue"))
    names = [r["Channel"] for r in rows]
    assert "'=cmd|' /C calc'!A0" in names


def test_revenue_by_attributed_channel_and_unit_economics(viewer_client, company):
    html = viewer_client.get(URL, MARCH).content.decode()
    channels = {row[0]: row for row in cell_texts(html, "channel_revenue")}
    # 2 converting contacts x (Search 1 Mar, Email 3 Mar) x 1,000 linear; 2 x 500 unattributed.
    assert channels["Search"][2] == "USD 1,000.00"
    assert channels["Email"][2] == "USD 1,000.00"
    assert channels["(unattributed)"][2] == "USD 1,000.00"
    unit = {row[0]: row for row in cell_texts(html, "unit_economics")}
    # Advertising (sales & marketing) 250 / 4 new customers in March.
    assert unit["Blended CAC (period)"][1] == "USD 62.50"


def test_no_budget_says_what_to_do(viewer_client, db, settings):
    from tests.dashboards.conftest import make_company

    settings.FINHUB_REPORTING_CURRENCY = "USD"
    make_company(budget=False)
    html = viewer_client.get(URL, MARCH).content.decode()
    assert "No budget loaded for FY2026 — import one in Admin \u203a Budgets." in html
    assert "/admin/records/budget/" in html


def test_empty_period_says_what_to_do(viewer_client, company):
    html = viewer_client.get(URL, {"period": "month", "month": "2020-01"}).content.decode()
    assert "No ledger lines in this period" in html


def test_freshness_warning_for_a_failing_source(viewer_client, company, monkeypatch):
    from dashboards import freshness

    class Row:
        name, kind_label, status, is_warning = "ERP", "ERP", "failing", True
        last_success_at, message = None, "Paused after 3 failed runs: HTTP 503"

    monkeypatch.setattr(
        freshness, "sources_freshness", lambda: freshness.Freshness([Row()]), raising=True
    )
    from dashboards.pages import executive

    monkeypatch.setattr(executive, "sources_freshness", lambda: freshness.Freshness([Row()]))
    html = viewer_client.get(URL, MARCH).content.decode()
    assert 'id="freshness-alert"' in html
    assert "Paused after 3 failed runs: HTTP 503" in html


def test_page_reads_snapshots_in_bounded_queries(
    viewer_client, company, django_assert_max_num_queries
):
    viewer_client.get(URL, MARCH)  # stores the snapshots this period needs
    small = query_count(viewer_client, URL, MARCH)
    assert 5 <= small <= 15
    with django_assert_max_num_queries(15):
        viewer_client.get(URL, MARCH)
    by_department = {**MARCH, "department": company["departments"]["SAL"].pk}
    viewer_client.get(URL, by_department)  # stores the department x account snapshot
    assert query_count(viewer_client, URL, by_department) == small  # all from one read
    # Ten times the ledger and the deals: the same number of queries.
    scale_up(company, 9)
    MetricSnapshot.objects.all().delete()
    viewer_client.get(URL, MARCH)
    assert query_count(viewer_client, URL, MARCH) == small


def scale_up(company, factor: int) -> None:
    lines = list(m.GLLine.objects.all())
    m.GLLine.objects.bulk_create(
        m.GLLine(
            source=line.source,
            external_id=f"{line.external_id}-x{i}",
            account_id=line.account_id,
            department_id=line.department_id,
            posting_date=line.posting_date,
            amount=line.amount,
            currency_id=line.currency_id,
        )
        for line in lines
        for i in range(factor)
    )
    search = company["channels"]["Search"]
    for _i in range(factor * 5):
        contact = f.ContactFactory(source=search.source)
        f.TouchpointFactory(
            source=search.source,
            contact=contact,
            channel=search,
            occurred_at=dt.datetime(2026, 3, 2, tzinfo=dt.UTC),
        )
        f.DealFactory(
            source=search.source, contact=contact, closed_at=dt.datetime(2026, 3, 9, tzinfo=dt.UTC)
        )


def test_stored_snapshots_are_read_not_recomputed(viewer_client, company, monkeypatch):
    viewer_client.get(URL, MARCH)
    from metrics import snapshots

    def boom(params):
        raise AssertionError("recomputed in a request although a snapshot exists")

    for kind in list(snapshots.COMPUTERS):
        monkeypatch.setitem(snapshots.COMPUTERS, kind, boom)
    assert viewer_client.get(URL, MARCH).status_code == 200


def test_a_long_drill_list_is_capped_not_counted_whole(viewer_client, company, monkeypatch):
    from dashboards import pagination

    monkeypatch.setattr(pagination, "COUNT_CAP", 3)
    html = viewer_client.get(DRILL, MARCH).content.decode()
    assert "Rows 1\u20133 of more than 3" in html
    assert "More than 3 lines match" in html
    assert "Sum:" not in html
    # the export still has every line (6 March lines + the totals row)
    assert len(csv_dicts(export(viewer_client, DRILL, MARCH, "gl_lines"))) == 7


def test_department_account_variances_come_from_one_stored_snapshot(viewer_client, company):
    eng = company["departments"]["ENG"]
    params = {**MARCH, "department": eng.pk}
    viewer_client.get(params and URL, params)
    assert MetricSnapshot.objects.filter(group_by="department_account").count() == 1
    html = viewer_client.get(URL, params).content.decode()
    rows = {row[0]: row for row in cell_texts(html, "account_variances")}
    # Engineering: revenue 200 vs 300, hosting 150 vs 100, rent 300 vs 250.
    assert rows["4000 Subscription revenue"][4] == "\u2212USD 100.00"
    assert rows["5000 Hosting"][4] == "USD 50.00"
    assert rows["6100 Rent"][4] == "USD 50.00"
    assert "6500 Advertising" not in rows


def test_figures_older_than_the_data_say_so(viewer_client, company):
    html = viewer_client.get(URL, MARCH).content.decode()
    assert 'id="stale-figures"' not in html
    m.IngestBatch.objects.create(source=company["src"], entity="gl_lines", via="sync")
    html = viewer_client.get(URL, MARCH).content.decode()
    assert 'id="stale-figures"' in html
    assert "data arrived since" in html
