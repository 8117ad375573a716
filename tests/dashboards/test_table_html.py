"""The data table's cells are made in Python (``Cell.html``) for speed: the page's HTML is
byte for byte what the template made cell by cell before, escaping included."""

from decimal import Decimal

from django.template import Context, Template
from django.template.loader import render_to_string

from dashboards.tables import MONEY, PERCENT, RATIO, TEXT, Column, Table
from metrics.reports.numbers import UNDEFINED

#: _table.html's body before the change: a template tag per cell attribute.
CELL_BY_CELL = (
    "{% for row, cells in table.rendered_rows %}"
    '<tr{% if row.css %} class="{{ row.css }}"{% endif %}>'
    '{% for cell in cells %}<td class="{% if cell.numeric %}num {% endif %}{{ cell.css }}"'
    '{% if cell.title %} title="{{ cell.title }}"{% endif %}>{% if cell.link %}'
    '<a href="{{ cell.link }}">{{ cell.text }}</a>{% else %}{{ cell.text }}{% endif %}</td>'
    "{% endfor %}</tr>{% endfor %}"
    "{% with totals=table.rendered_totals %}{% if totals %}"
    '<tr class="totals">{% for cell in totals %}<td class="{% if cell.numeric %}num '
    '{% endif %}{{ cell.css }}"{% if cell.title %} title="{{ cell.title }}"{% endif %}>'
    '{% if cell.link %}<a href="{{ cell.link }}">{{ cell.text }}</a>{% else %}{{ cell.text }}'
    "{% endif %}</td>{% endfor %}</tr>{% endif %}{% endwith %}"
)
IN_PYTHON = (
    "{% for row, cells in table.rows_html %}"
    '<tr{% if row.css %} class="{{ row.css }}"{% endif %}>{{ cells }}</tr>{% endfor %}'
    "{% with totals=table.totals_html %}{% if totals %}"
    '<tr class="totals">{{ totals }}</tr>{% endif %}{% endwith %}'
)


def table() -> Table:
    t = Table(
        id="t",
        title="Campaigns",
        currency="USD",
        columns=[
            Column("name", "Name", TEXT),
            Column("spend", "Spend", MONEY),
            Column("roi", "ROI", PERCENT),
            Column("ratio", "LTV:CAC", RATIO),
        ],
        totals={"spend": Decimal("-12.5"), "roi": None, "ratio": UNDEFINED},
        totals_link="/drill/?a=1&b=<2>",
    )
    t.add(
        {"name": 'Brand "<Spring>" & co', "spend": Decimal("1234.5"), "roi": UNDEFINED},
        link="/dashboards/x/?campaign=1&period=ytd",
        titles={"roi": "no spend: <none>"},
        classes={"spend": "favourable"},
        css="muted",
    )
    t.add({"name": "Dud", "spend": Decimal("-3"), "roi": Decimal("12.5"), "ratio": "3.25"})
    t.add(
        {"name": "Email", "spend": None, "ratio": "x"},
        links={"spend": '/drill/?channel=Email&x="1"'},
        titles={"name": "months: 2026-01, 2026-02"},
    )
    return t


def test_cells_made_in_python_are_the_template_cells():
    data = table()
    before = Template(CELL_BY_CELL).render(Context({"table": data}))
    after = Template(IN_PYTHON).render(Context({"table": data}))
    assert after == before
    assert "&lt;Spring&gt;" in after and "&amp;b=&lt;2&gt;" in after  # escaped
    assert 'title="no spend: &lt;none&gt;"' in after


def test_the_table_include_renders_the_cells(rf):
    html = render_to_string("dashboards/_table.html", {"table": table()})
    assert '<td class="num negative">' in html
    assert html.count("<tr") == 5  # header, three rows, totals
