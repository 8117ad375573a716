"""Rendering built reports: CSV (formula-safe), XLSX (number formats, frozen header, widths,
no formula cell) and PDF (cover, contents with page numbers, "Page n of N", the figures,
computed-at and freshness, charts drawn server-side, nothing fetched from the network)."""

import csv
import datetime as dt
import io
import re
from decimal import Decimal

import pytest
from openpyxl import load_workbook
from pypdf import PdfReader

from reports.rendering import CONTENT_TYPES, FORMATS, render
from reports.rendering.charts import chart_svg, css_color
from reports.rendering.pdf_file import LocalOnlyFetcher
from reports.rendering.xlsx_file import sheet_name
from tests import factories as f
from tests.dashboards.conftest import MARCH, make_company

pytestmark = pytest.mark.django_db
EVIL = '=HYPERLINK("http://evil.example/","click")'
AT = dt.datetime(2026, 4, 2, 6, 30, tzinfo=dt.UTC)


@pytest.fixture
def pack(settings, build):
    settings.FINHUB_REPORTING_CURRENCY = "USD"
    company = make_company()
    crm = f.ConnectorFactory(name="Ads", kind="crm")
    evil = f.CampaignFactory(source=crm, name=EVIL, channel=company["channels"]["Search"])
    f.CampaignSpendFactory(
        source=crm, campaign=evil, date=dt.date(2026, 3, 6), amount=Decimal("12.50")
    )
    return [build(key, MARCH) for key in ("pnl_department", "campaign_roi", "roadmap_status")]


def rendered(reports, fmt):
    return render(
        reports, fmt=fmt, title="Month-end pack", generated_by="Fiona Viewer", generated_at=AT
    )


def test_formats():
    assert FORMATS == ("csv", "xlsx", "pdf")
    assert set(CONTENT_TYPES) == set(FORMATS)
    with pytest.raises(ValueError, match="format"):
        render([], fmt="docx", title="x", generated_by="x", generated_at=AT)


def test_csv_has_every_table_with_its_title_and_is_formula_safe(pack):
    text = rendered(pack, "csv").decode("utf-8")
    lines = list(csv.reader(io.StringIO(text)))
    assert lines[0] == ["Month-end pack"]
    titles = [t.title for report in pack for t in report.tables]
    for title in titles:
        assert [title] in lines, title
    header = lines.index(["Profit and loss by department"]) + 1
    assert lines[header][:2] == ["Department", "Revenue (USD)"]
    sales = next(line for line in lines[header:] if line[0] == "Sales")
    assert sales[1] == "1000.00" and sales[4] == "650.00"
    # The campaign name is text with an apostrophe in front; nowhere does "=" lead a cell.
    assert any(cell == "'" + EVIL for line in lines for cell in line)
    assert not any(cell.startswith(("=", "+", "@")) for line in lines for cell in line)
    # A real negative number stays a number (Engineering's operating income).
    engineering = next(line for line in lines[header:] if line[0] == "Engineering")
    assert engineering[4] == "-250.00"


def test_xlsx_sheets_formats_frozen_header_and_no_formula(pack):
    book = load_workbook(io.BytesIO(rendered(pack, "xlsx")))
    assert book.sheetnames == ["About", "P&L by department", "Campaign ROI", "Roadmap status"]
    about = book["About"]
    assert about["A1"].value == "Month-end pack"
    assert any(c.value == "Figures computed at" for c in about["A"])
    formulas = [
        (sheet.title, cell.coordinate)
        for sheet in book
        for row in sheet.iter_rows()
        for cell in row
        if cell.data_type == "f"
    ]
    assert formulas == []
    pnl = book["P&L by department"]
    assert pnl.freeze_panes is not None
    frozen = int(re.sub(r"\D", "", pnl.freeze_panes))
    header = [c.value for c in pnl[frozen - 1]]
    assert header[:3] == ["Measure", "This period (USD)", "Prior period (USD)"]
    revenue = [c for c in pnl[frozen]]
    assert revenue[0].value == "Revenue" and revenue[1].value == Decimal("1200.00")
    assert revenue[1].number_format == "#,##0.00"
    assert revenue[3].number_format == '0.0"%"'  # change vs prior, in percent
    margin = next(row for row in pnl.iter_rows() if row[0].value == "Operating margin")
    assert margin[1].number_format == '0.0"%"'  # the margin row is in percent
    assert margin[3].number_format == '0.0" pp"'  # its change in percentage points
    assert pnl.column_dimensions["A"].width >= len("Operating expenses")
    campaigns = book["Campaign ROI"]
    evil = [c for row in campaigns.iter_rows() for c in row if c.value == "'" + EVIL]
    assert evil and all(c.data_type == "s" for c in evil)


def test_sheet_names_are_short_unique_and_valid():
    taken = {"about"}
    first = sheet_name("Revenue / expenses [by month]: a very long report title", taken)
    second = sheet_name("Revenue / expenses [by month]: a very long report title", taken)
    assert len(first) <= 31 and len(second) <= 31 and first != second
    assert not set("[]:*?/\\") & set(first + second)
    assert sheet_name("About", taken) == "About (2)"


def test_pdf_cover_contents_page_numbers_and_figures(pack):
    reader = PdfReader(io.BytesIO(rendered(pack, "pdf")))
    pages = [page.extract_text() for page in reader.pages]
    total = len(pages)
    for number, text in enumerate(pages, start=1):
        assert f"Page {number} of {total}" in text
    assert "Month-end pack" in pages[0] and "Fiona Viewer" in pages[0]
    contents = pages[1]
    assert "Contents" in contents
    for number, report in enumerate(pack, start=1):
        match = re.search(rf"{number}\. {re.escape(report.title)}[ .]*?(\d+)\s*$", contents, re.M)
        assert match, (report.title, contents)
        page = int(match[1])
        assert report.title in pages[page - 1]  # the contents' page number is right
        assert "Figures computed at" in pages[page - 1]
    body = "\n".join(pages)
    assert "USD 1,200.00" in body  # revenue of March
    assert "Profit and loss by department" in body
    assert "Data freshness" in body
    assert "Operating margin" in body


def test_charts_are_svg_with_the_series():
    from dashboards.charts import Chart, Reference, Series
    from dashboards.tables import Table

    chart = Chart(
        "trend",
        "Trend",
        ["Jan", "Feb", "Mar"],
        [
            Series("Revenue", [Decimal("10.00"), None, Decimal("30.00")], type="bar"),
            Series("Budget", [Decimal("12.00"), Decimal("12.00"), "undefined"], type="line"),
        ],
        Table("trend", "Trend", []),
        references=[Reference("Target", Decimal("20"))],
        currency="USD",
    )
    svg = chart_svg(chart)
    assert svg.startswith("<?xml") and "<svg" in svg
    assert "Revenue" in svg and "Target" in svg  # legend text kept as text
    stacked = Chart(
        "w",
        "Waterfall",
        ["a", "b"],
        [Series("lift", [1, 2], spacer=True), Series("step", [3, -1])],
        Table("w", "W", []),
        stacked=True,
        horizontal=True,
    )
    assert "<svg" in chart_svg(stacked)
    assert chart_svg(Chart("e", "Empty", [], [], Table("e", "E", []))) == ""


def test_charts_take_the_pages_css_colours():
    # The forecast page draws its 80%/95% bands in CSS rgba(); matplotlib knows no rgba().
    from dashboards.charts import Chart, Reference, Series
    from dashboards.pages.forecast import BAND_80, BAND_95
    from dashboards.tables import Table

    chart = Chart(
        "fan",
        "Fan",
        ["Nov", "Dec"],
        [
            Series("95% range", [Decimal("5"), Decimal("6")], type="line", color=BAND_95),
            Series("80% range", [Decimal("7"), Decimal("8")], type="bar", color=BAND_80),
        ],
        Table("fan", "Fan", []),
        references=[Reference("Budget", Decimal("9"), color="rgb(11, 83, 148)")],
    )
    svg = chart_svg(chart)
    assert "95% range" in svg and "Budget" in svg
    assert css_color("rgba(181, 71, 8, 0.12)") == (181 / 255, 71 / 255, 8 / 255, 0.12)
    assert css_color("#0b5394") == "#0b5394"


def test_the_pdf_fetches_nothing_from_the_network():
    fetcher = LocalOnlyFetcher()
    with pytest.raises(ValueError, match="disallowed protocol"):
        fetcher.fetch("https://example.com/logo.png")
    with pytest.raises(ValueError, match="disallowed protocol"):
        fetcher.fetch("file:///etc/passwd")
    assert fetcher.fetch("data:text/plain,ok") is not None
