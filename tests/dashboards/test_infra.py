"""The dashboard building blocks: period picker, filters, table formatting, exports."""

import datetime as dt
from decimal import Decimal

import pytest
from django.http import QueryDict

from dashboards.exports import table_export
from dashboards.filters import FilterError, filters_from_params
from dashboards.period import PeriodError, period_from_params
from dashboards.tables import MONEY, PERCENT, RATIO, TEXT, Column, Table, format_value
from finhub.core import calendar as p

TODAY = dt.date(2026, 11, 27)


def parse(query: str, default: str = p.YTD) -> p.Period:
    return period_from_params(QueryDict(query), default=default, today=TODAY)


@pytest.mark.parametrize(
    "query, start, end, label",
    [
        ("", dt.date(2026, 1, 1), TODAY, "2026 year to date (to 27 Nov)"),
        ("period=month&month=2024-02", dt.date(2024, 2, 1), dt.date(2024, 2, 29), "February 2024"),
        ("period=quarter&quarter=2026-q2", dt.date(2026, 4, 1), dt.date(2026, 6, 30), "Q2 2026"),
        ("period=ytd&year=2025", dt.date(2025, 1, 1), dt.date(2025, 12, 31), None),
        ("period=ytd", dt.date(2026, 1, 1), TODAY, None),
        (
            "period=custom&from=2026-01-15&to=2026-02-14",
            dt.date(2026, 1, 15),
            dt.date(2026, 2, 14),
            None,
        ),
    ],
)
def test_periods_from_the_url(query, start, end, label):
    period = parse(query)
    assert (period.start, period.end) == (start, end)
    if label:
        assert period.label == label
    assert parse("&".join(f"{k}={v}" for k, v in period.query().items())) == period


def test_defaults_per_page():
    assert parse("", p.MONTH) == p.Period(p.MONTH, dt.date(2026, 11, 1), dt.date(2026, 11, 30))
    assert parse("", p.QUARTER).start == dt.date(2026, 10, 1)


def test_prior_and_last_year():
    march = parse("period=month&month=2024-03")
    assert march.prior() == p.Period(p.MONTH, dt.date(2024, 2, 1), dt.date(2024, 2, 29))
    assert march.last_year() == p.Period(p.MONTH, dt.date(2023, 3, 1), dt.date(2023, 3, 31))
    leap = parse("period=month&month=2024-02")
    assert leap.last_year().end == dt.date(2023, 2, 28)
    q1 = parse("period=quarter&quarter=2026-Q1")
    assert (q1.prior().start, q1.prior().end) == (dt.date(2025, 10, 1), dt.date(2025, 12, 31))
    ytd = parse("")  # 1 Jan - 27 Nov 2026: prior = the 11 months before, to the same day
    assert (ytd.prior().start, ytd.prior().end) == (dt.date(2025, 2, 1), dt.date(2025, 12, 27))
    assert (ytd.last_year().start, ytd.last_year().end) == (
        dt.date(2025, 1, 1),
        dt.date(2025, 11, 27),
    )
    custom = parse("period=custom&from=2026-03-10&to=2026-03-19")
    assert (custom.prior().start, custom.prior().end) == (dt.date(2026, 2, 28), dt.date(2026, 3, 9))


@pytest.mark.parametrize(
    "query, message",
    [
        ("period=month", "month: required when period=month."),
        ("period=month&month=2026-3", "month: '2026-3' is not a month (YYYY-MM)."),
        ("period=quarter&quarter=2026-Q5", "quarter: '2026-Q5' is not a quarter"),
        ("period=ytd&year=2027", "year: 2027 has not started yet"),
        ("period=ytd&year=20x6", "year: '20x6' is not a year (YYYY)."),
        ("period=custom&from=2026-01-01", "to: required when period=custom."),
        ("period=custom&from=2026-02-30&to=2026-03-01", "from: '2026-02-30' is not a date"),
        ("period=custom&from=2000-01-01&to=2026-03-01", "to: the period may span at most"),
        ("period=week", "period: 'week' is not one of month, quarter, ytd, custom."),
    ],
)
def test_bad_periods_name_the_parameter(query, message):
    with pytest.raises(PeriodError) as error:
        parse(query)
    assert message in str(error.value)


def test_filters_read_options_in_one_query_each(db, django_assert_num_queries):
    from tests import factories as f

    sales = f.DepartmentFactory(name="Sales", code="SAL")
    f.ChannelFactory(name="Search")
    with django_assert_num_queries(2):
        filters = filters_from_params(
            QueryDict(f"department={sales.pk}"), ["department", "channel"]
        )
    assert filters.selected("department").code == "SAL"
    assert filters.selected("channel") is None
    assert filters.query() == {"department": str(sales.pk)}
    with pytest.raises(FilterError, match="department: no department has id 0"):
        filters_from_params(QueryDict("department=0"), ["department"])


def test_formatting():
    assert format_value(Decimal("-1234567.891"), MONEY, "EUR") == "\u2212EUR 1,234,567.89"
    assert format_value("1000", MONEY, "USD") == "USD 1,000.00"
    assert format_value("undefined", RATIO) == "\u2014"
    assert format_value(None, MONEY, "USD") == "\u2014"
    assert format_value(Decimal("12.345"), PERCENT) == "12.3%"
    assert format_value(Decimal("-0.5"), PERCENT) == "\u22120.5%"
    assert format_value(Decimal("3.14159"), RATIO) == "3.14"
    assert format_value(1234, "int") == "1,234"


def test_table_cells_mark_negatives_and_classes():
    table = Table(
        "t", "T", [Column("name", "Name", TEXT), Column("v", "Value", MONEY)], currency="USD"
    )
    table.add({"name": "a", "v": Decimal("-5")}, link="/x", classes={"v": "favourable"})
    ((_row, cells),) = table.rendered_rows()
    assert cells[0].link == "/x"
    assert cells[1].css == "negative favourable"
    assert cells[1].text == "\u2212USD 5.00"


def test_csv_export_is_formula_safe_and_numeric():
    table = Table(
        "t", "T", [Column("name", "Name", TEXT), Column("v", "Value", MONEY)], currency="USD"
    )
    table.add({"name": "=SUM(A1:A9)", "v": Decimal("-5.005")})
    table.add({"name": "@evil", "v": "undefined"})
    table.totals = {"v": Decimal("-5.005")}
    text = table_export(table, "csv").decode()
    assert text.splitlines() == [
        "Name,Value (USD)",
        "'=SUM(A1:A9),-5.01",
        "'@evil,undefined",
        "Total,-5.01",
    ]
    assert table_export(table, "xlsx")[:2] == b"PK"


def test_default_attribution_model_comes_from_settings_and_a_typo_is_an_error(settings):
    from django.core.exceptions import ImproperlyConfigured

    from metrics.params import default_attribution_model

    settings.FINHUB_DEFAULT_ATTRIBUTION_MODEL = "markov"
    assert default_attribution_model() == "markov"
    settings.FINHUB_DEFAULT_ATTRIBUTION_MODEL = "markvo"
    with pytest.raises(ImproperlyConfigured, match="markvo"):
        default_attribution_model()
