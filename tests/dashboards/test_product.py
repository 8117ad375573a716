"""The Product ROI page: initiative figures worked by hand, the cumulative chart, drill-downs
whose totals are the figure clicked, bad parameters, exports, permission and bounded queries.

Q1 2026, gross margin 0.80, product development department Engineering:

* Onboarding (start Jan): time 10 h x 100 = 1,000 (20 Jan), GL-kind cost 500 (10 Feb) and an
  Engineering GL line of 300 tagged with it (15 Feb) → Feb is a possible double count.
  Benefits: revenue 1,500 (28 Feb) + retained MRR 1,000 (31 Mar) → 2,500 x 0.8 = 2,000.
  Cost 1,800, ROI (2,000 - 1,800) / 1,800 = 11.1%. Cumulative Jan 1,000 / 0,
  Feb 1,800 / 1,200, Mar 1,800 / 2,000 → paid back in Mar 2026.
* Reporting (start Feb): other cost 800 (5 Feb), a tagged Engineering GL line of 400 (10 Mar),
  revenue 250 (15 Mar) → 200. Cost 1,200, ROI -1,000 / 1,200 = -83.3%; cumulative Feb 800 / 0,
  Mar 1,200 / 200 → not paid back.
* Idea (start Jan): no records → no cost, ROI undefined ("—").

An untagged Engineering line of 700 and a Sales line of 999 (not development) in January.
Development cost = Engineering lines 300 + 400 + 700 + time 1,000 = 2,400; assigned to an
initiative 300 + 400 + 1,000 = 1,700; both assigned initiatives have a defined ROI and a benefit
→ coverage 1,700 / 2,400 = 70.8%. Totals: cost 3,000 (GL 500, time 1,000, other 800, tagged
700), benefit 2,200, ROI -800 / 3,000 = -26.7%.
"""

import datetime as dt
import html as html_lib
import io
import json
import re
from decimal import Decimal

import openpyxl
import pytest

from tests import factories as f
from tests.dashboards.helpers import cell_texts, csv_dicts, export, query_count

URL = "/dashboards/product/"
Q1 = {"period": "quarter", "quarter": "2026-Q1"}
MINUS = "\u2212"
DASH = "\u2014"


@pytest.fixture
def initiatives(db, settings):
    settings.FINHUB_REPORTING_CURRENCY = "USD"
    settings.FINHUB_GROSS_MARGIN = "0.80"
    src = f.ConnectorFactory(name="PM", kind="erp")
    eng = f.DepartmentFactory(source=src, name="Engineering", code="ENG")
    sales = f.DepartmentFactory(source=src, name="Sales", code="SAL")
    salaries = f.AccountFactory(source=src, code="6200", name="Salaries", type="expense")
    onboarding = f.InitiativeFactory(
        source=src, name="Onboarding", product="App", start_date=dt.date(2026, 1, 1)
    )
    reporting = f.InitiativeFactory(
        source=src, name="Reporting", product="App", start_date=dt.date(2026, 2, 1)
    )
    idea = f.InitiativeFactory(source=src, name="Idea", start_date=dt.date(2026, 1, 1))

    def cost(initiative, day, kind, amount, **extra):
        f.InitiativeCostFactory(
            source=src, initiative=initiative, date=day, kind=kind, amount=Decimal(amount), **extra
        )

    def benefit(initiative, day, kind, amount):
        f.InitiativeBenefitFactory(
            source=src, initiative=initiative, date=day, kind=kind, amount=Decimal(amount)
        )

    def line(day, amount, department, initiative=None):
        f.GLLineFactory(
            source=src,
            account=salaries,
            department=department,
            posting_date=day,
            amount=Decimal(amount),
            initiative=initiative,
        )

    cost(
        onboarding,
        dt.date(2026, 1, 20),
        "time",
        "1000.00",
        hours=Decimal("10"),
        hourly_rate=Decimal("100.00"),
    )
    cost(onboarding, dt.date(2026, 2, 10), "gl", "500.00")
    line(dt.date(2026, 2, 15), "300.00", eng, onboarding)
    benefit(onboarding, dt.date(2026, 2, 28), "revenue", "1500.00")
    benefit(onboarding, dt.date(2026, 3, 31), "retention", "1000.00")
    cost(reporting, dt.date(2026, 2, 5), "other", "800.00")
    line(dt.date(2026, 3, 10), "400.00", eng, reporting)
    benefit(reporting, dt.date(2026, 3, 15), "revenue", "250.00")
    line(dt.date(2026, 1, 10), "700.00", eng)
    line(dt.date(2026, 1, 10), "999.00", sales)
    return {"onboarding": onboarding, "reporting": reporting, "idea": idea}


@pytest.fixture
def viewer(client, finance_viewer):
    client.force_login(finance_viewer)
    return client


def chart_data(html: str, chart_id: str) -> dict:
    match = re.search(
        rf'<script id="chart-{chart_id}-data" type="application/json">(.*?)</script>', html, re.S
    )
    return json.loads(match[1])


def rows_by_name(html: str) -> dict[str, list[str]]:
    return {row[0]: row for row in cell_texts(html, "initiatives")}


def row_html(html: str, name: str) -> str:
    table = re.search(r'data-table="initiatives">(.*?)</table>', html, re.S)[1]
    return next(row for row in re.findall(r"<tr[^>]*>.*?</tr>", table, re.S) if name in row)


def cell_link(row: str, text: str) -> str:
    """The href of the link whose text is ``text`` in a table row."""
    match = re.search(rf'<a href="([^"]+)">{re.escape(text)}</a>', row)
    assert match, f"no link {text!r} in {row}"
    return html_lib.unescape(match[1])


def kpi(html: str, kpi_id: str) -> str:
    match = re.search(rf'id="{kpi_id}">.*?<div class="value[^"]*"[^>]*>(.*?)</div>', html, re.S)
    return re.sub(r"<[^>]+>", "", match[1]).strip()


def test_initiatives_table_is_worked_by_hand(viewer, initiatives):
    html = viewer.get(URL, Q1).content.decode()
    rows = rows_by_name(html)
    assert list(rows) == ["Idea", "Onboarding", "Reporting"]
    # name, product, start, GL, time, other, tagged GL, total, benefit, ROI,
    # cumulative cost, cumulative benefit, cumulative ROI, payback, flags
    assert rows["Onboarding"][2:] == [
        "Jan 2026",
        "USD 500.00",
        "USD 1,000.00",
        "USD 0.00",
        "USD 300.00",
        "USD 1,800.00",
        "USD 2,000.00",
        "11.1%",
        "USD 1,800.00",
        "USD 2,000.00",
        "11.1%",
        "Mar 2026",
        "possible double count",
    ]
    assert rows["Reporting"][7:] == [
        "USD 1,200.00",
        "USD 200.00",
        f"{MINUS}83.3%",
        "USD 1,200.00",
        "USD 200.00",
        f"{MINUS}83.3%",
        "not paid back",
        "",
    ]
    assert rows["Idea"][9] == DASH and rows["Idea"][12] == DASH  # no cost: never 0
    assert 'title="No ROI: the initiative has no cost in the period"' in row_html(html, "Idea")
    # The double count flag is visible, its months on hover.
    flagged = row_html(html, "Onboarding")
    assert 'class="warning"' in flagged
    assert 'title="Months with both a GL cost record and tagged GL lines: Feb 2026"' in flagged
    totals = re.search(r'<tfoot><tr class="totals">(.*?)</tr>', html, re.S)[1]
    assert [re.sub(r"<[^>]+>", "", c).strip() for c in re.findall(r"<td[^>]*>(.*?)</td>", totals)][
        3:10
    ] == [
        "USD 500.00",
        "USD 1,000.00",
        "USD 800.00",
        "USD 700.00",
        "USD 3,000.00",
        "USD 2,200.00",
        f"{MINUS}26.7%",
    ]


def test_kpis_and_their_definitions(viewer, initiatives):
    html = viewer.get(URL, Q1).content.decode()
    assert kpi(html, "kpi-development-cost") == "USD 2,400.00"
    assert kpi(html, "kpi-assigned-cost") == "USD 1,700.00"
    assert kpi(html, "kpi-benefit") == "USD 2,200.00"
    assert kpi(html, "kpi-roi") == f"{MINUS}26.7%"
    assert kpi(html, "kpi-coverage") == "70.8%"
    assert html.count('href="/docs/metrics/#product-development-roi">How is this computed?') == 5
    assert 'href="/docs/metrics/#product-dashboard"' in html
    assert f'href="{URL}"' in html  # the navigation links the page


def test_without_development_cost_coverage_is_undefined(viewer, db, settings):
    settings.FINHUB_REPORTING_CURRENCY = "USD"
    html = viewer.get(URL, Q1).content.decode()
    assert kpi(html, "kpi-coverage") == DASH
    assert 'title="No development cost in the period"' in html
    assert "No initiatives yet" in html


def test_cumulative_chart_all_and_one_initiative(viewer, initiatives):
    html = viewer.get(URL, Q1).content.decode()
    data = chart_data(html, "cumulative")
    assert data["type"] == "line"
    assert data["labels"] == ["Jan 2026", "Feb 2026", "Mar 2026"]
    cost, benefit = data["series"]
    assert [Decimal(v) for v in cost["values"]] == [1000, 2600, 3000]
    assert [Decimal(v) for v in benefit["values"]] == [0, 1200, 2200]
    table = cell_texts(html, "cumulative")
    assert table[1] == ["Feb 2026", "USD 2,600.00", "USD 1,200.00", f"{MINUS}USD 1,400.00", "0.46"]

    reporting = initiatives["reporting"]
    html = viewer.get(URL, {**Q1, "initiative": reporting.pk}).content.decode()
    data = chart_data(html, "cumulative")
    assert data["labels"] == ["Feb 2026", "Mar 2026"]
    assert [Decimal(v) for v in data["series"][0]["values"]] == [800, 1200]
    assert [Decimal(v) for v in data["series"][1]["values"]] == [0, 200]
    assert "Cumulative cost vs benefit — Reporting" in html
    assert f'<option value="{reporting.pk}" selected>Reporting</option>' in html
    # the first month has no benefit over a cost: ratio 0.00, not undefined
    assert cell_texts(html, "cumulative")[0][4] == "0.00"


def test_drills_total_the_figure_clicked(viewer, initiatives):
    html = viewer.get(URL, Q1).content.decode()
    onboarding = row_html(html, "Onboarding")

    tagged = viewer.get(cell_link(onboarding, "USD 300.00"))
    assert tagged.status_code == 200
    body = tagged.content.decode()
    assert [row[1] for row in cell_texts(body, "gl_lines")] == ["6200 Salaries"]
    assert "Total USD 300.00" in body
    assert "tagged with initiative Onboarding" in body
    assert "Back to the Product ROI dashboard" in body

    time = viewer.get(cell_link(onboarding, "USD 1,000.00")).content.decode()
    rows = cell_texts(time, "costs")
    assert len(rows) == 1 and rows[0][1] == "Time entries"
    assert rows[0][3:6] == ["10.00", "100.00", "1,000.00"]  # in the record's currency
    assert kpi(time, "kpi-drill-total") == "USD 1,000.00"

    gl_cost = viewer.get(cell_link(onboarding, "USD 500.00")).content.decode()
    assert kpi(gl_cost, "kpi-drill-total") == "USD 500.00"

    benefits = viewer.get(cell_link(onboarding, "USD 2,000.00"))
    body = benefits.content.decode()
    assert len(cell_texts(body, "benefits")) == 2
    assert "Total USD 2,500.00" in body  # credited, before the gross margin
    assert kpi(body, "kpi-drill-total") == "USD 2,000.00"  # the figure clicked
    back = re.search(r'id="drill-back" href="([^"]+)"|href="([^"]+)" id="drill-back"', body)
    back_url = html_lib.unescape(back[1] or back[2])
    assert back_url.startswith(URL) and "quarter=2026-Q1" in back_url
    assert f"initiative={initiatives['onboarding'].pk}" in back_url

    reporting = row_html(html, "Reporting")
    other = viewer.get(cell_link(reporting, "USD 800.00")).content.decode()
    assert kpi(other, "kpi-drill-total") == "USD 800.00"


@pytest.mark.parametrize(
    ("url", "params", "named"),
    [
        (URL, {"initiative": "abc"}, "initiative"),
        (URL, {"initiative": "999999"}, "initiative"),
        ("/dashboards/drill/initiative/", {}, "initiative"),
        ("/dashboards/drill/initiative/", {"initiative": "x"}, "initiative"),
        ("/dashboards/drill/initiative/", {"initiative": "999999"}, "initiative"),
        ("/dashboards/drill/initiative/", {"initiative": "ONBOARDING", "show": "deals"}, "show"),
        (
            "/dashboards/drill/initiative/",
            {"initiative": "ONBOARDING", "show": "costs", "kind": "revenue"},
            "kind",
        ),
        ("/dashboards/drill/gl-lines/", {"initiative": "1x"}, "initiative"),
    ],
)
def test_bad_parameter_is_a_400_naming_it(viewer, initiatives, url, params, named):
    if params.get("initiative") == "ONBOARDING":  # a real initiative, another bad parameter
        params = {**params, "initiative": initiatives["onboarding"].pk}
    response = viewer.get(url, {**Q1, **params})
    assert response.status_code == 400
    assert f"{named}:" in response.content.decode()


def test_exports(viewer, initiatives):
    rows = {r["Initiative"]: r for r in csv_dicts(export(viewer, URL, Q1, "initiatives"))}
    assert rows["Onboarding"]["Total cost (USD)"] == "1800.00"
    assert rows["Onboarding"]["ROI"] == "11.11"
    assert rows["Onboarding"]["Flags"] == "possible double count"
    assert rows["Reporting"]["Payback month"] == "not paid back"
    assert rows["Idea"]["ROI"] == "undefined"
    assert rows["Total (all initiatives)"]["Benefit (USD)"] == "2200.00"
    cumulative = csv_dicts(export(viewer, URL, Q1, "cumulative"))
    assert [r["Cumulative cost (USD)"] for r in cumulative] == ["1000.00", "2600.00", "3000.00"]
    response = export(viewer, URL, Q1, "initiatives", "xlsx")
    assert response.status_code == 200
    sheet = openpyxl.load_workbook(io.BytesIO(response.content)).active
    assert sheet.cell(1, 1).value == "Initiative"
    drill = export(
        viewer,
        "/dashboards/drill/initiative/",
        {**Q1, "initiative": initiatives["onboarding"].pk, "show": "benefits"},
        "benefits",
    )
    assert sorted(r["Amount"] for r in csv_dicts(drill)) == ["1000.00", "1500.00", "2500.00"]


def test_finance_viewer_permission(client, no_role_user, finance_viewer, initiatives):
    client.force_login(no_role_user)
    assert client.get(URL, Q1).status_code == 403
    assert client.get("/dashboards/drill/initiative/", Q1).status_code == 403
    client.force_login(finance_viewer)
    assert client.get(URL, Q1).status_code == 200
    client.logout()
    response = client.get(URL)
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_bounded_queries(viewer, initiatives):
    viewer.get(URL, Q1)  # stores the snapshot
    assert query_count(viewer, URL, Q1) <= 8
    assert query_count(viewer, URL, {**Q1, "initiative": initiatives["reporting"].pk}) <= 8
    drill = {**Q1, "initiative": initiatives["onboarding"].pk, "show": "costs"}
    assert query_count(viewer, "/dashboards/drill/initiative/", drill) <= 10
    # more initiatives and records: no more queries
    for i in range(5):
        extra = f.InitiativeFactory(name=f"More {i}", start_date=dt.date(2026, 1, 1))
        f.InitiativeCostFactory(initiative=extra, date=dt.date(2026, 2, 1), kind="time")
    viewer.get(URL, Q1)
    assert query_count(viewer, URL, Q1) <= 8


def test_many_initiatives_are_paged_and_exported_whole(viewer, initiatives, monkeypatch):
    from dashboards.pages import product

    monkeypatch.setattr(product, "PER_PAGE", 2)
    html = viewer.get(URL, Q1).content.decode()
    assert list(rows_by_name(html)) == ["Idea", "Onboarding"]
    assert "Rows 1\u20132 of 3" in html
    second = viewer.get(URL, {**Q1, "page": 2}).content.decode()
    assert list(rows_by_name(second)) == ["Reporting"]
    # the totals are of every initiative on every page; the export has every row
    assert "USD 3,000.00" in re.search(r"<tfoot>(.*?)</tfoot>", second, re.S)[1]
    rows = csv_dicts(export(viewer, URL, Q1, "initiatives"))
    assert [r["Initiative"] for r in rows] == [
        "Idea",
        "Onboarding",
        "Reporting",
        "Total (all initiatives)",
    ]
