"""Dashboard tables: typed columns, raw values, formatting for the page and the exports.

Rows keep raw values (Decimal, int, str, None); the page shows them formatted (money with
the currency and thousands separators, negatives with a minus sign and the ``negative``
class, ratios and percentages with fixed decimals, "—" for a ratio with a zero denominator,
with the reason on hover) and the CSV/XLSX exports write the raw numbers (``undefined``).
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from decimal import Decimal

from django.utils.safestring import SafeString, mark_safe

from finhub.core.money import round_half_up
from metrics.reports.numbers import UNDEFINED, to_number

MONEY = "money"
PERCENT = "percent"  # the value is already in percent (12.5 means 12.5%)
RATIO = "ratio"  # a plain number with 2 decimals (LTV:CAC 3.25, payback 7.40 months)
#: A difference of two percentages (a margin's change): 1.5 means 1.5 percentage points.
POINTS = "points"
POINTS_TITLE = "percentage points: the difference of two percentages"
INT = "int"
TEXT = "text"
DATE = "date"
NUMERIC_KINDS = (MONEY, PERCENT, POINTS, RATIO, INT)
MINUS = "\u2212"
NONE_TEXT = "\u2014"  # a missing value, and a ratio with a zero denominator
#: The hover text of an undefined value when the page gives no more precise reason.
UNDEFINED_TITLE = "No value: its denominator is zero (docs/metrics.md, Undefined ratios)"


def _grouped(value: Decimal, places: int) -> str:
    return f"{round_half_up(abs(value), places):,.{places}f}"


def favour_css(favourable: bool | None) -> str:
    """The cell class of a variance: green when favourable, red when not, plain when
    neither (``metrics.reports.budget.favourable``)."""
    return "" if favourable is None else "favourable" if favourable else "unfavourable"


def shown(value):
    """A computed ratio for a table: ``"undefined"`` (shown as "—") when its denominator was
    zero."""
    return UNDEFINED if value is None else value


def format_value(value, kind: str, currency: str = "") -> str:
    """The text shown on the page for ``value`` of column kind ``kind``."""
    if kind == TEXT:
        return "" if value is None else str(value)
    if kind == DATE:
        if value is None:
            return ""
        return value.isoformat() if hasattr(value, "isoformat") else str(value)
    number = to_number(value)
    if number is None:
        return NONE_TEXT if value == UNDEFINED or value is None else ""
    sign = MINUS if number < 0 else ""
    if kind == MONEY:
        text = _grouped(Decimal(number), 2)
        return f"{sign}{currency} {text}" if currency else f"{sign}{text}"
    if kind == PERCENT:
        return f"{sign}{_grouped(Decimal(number), 1)}%"
    if kind == POINTS:  # not "%": +2% of a 10% margin is 10.2%, +2 points is 12%
        return f"{sign}{_grouped(Decimal(number), 1)} pp"
    if kind == RATIO:
        return f"{sign}{_grouped(Decimal(number), 2)}"
    return f"{sign}{abs(int(number)):,}"


def export_value(value, kind: str):
    """The value written to CSV/XLSX: numbers as numbers (money rounded to cents), undefined
    ratios as the text ``undefined``."""
    if kind in (TEXT, DATE):
        return "" if value is None else value
    number = to_number(value)
    if number is None:
        return UNDEFINED if value == UNDEFINED else ""
    if kind == INT:
        return int(number)
    return round_half_up(number, {MONEY: 2, PERCENT: 2, POINTS: 2, RATIO: 4}[kind])


@dataclass(frozen=True)
class Column:
    key: str
    label: str
    kind: str = TEXT
    #: Money columns: the currency shown (default: the table's currency).
    currency: str = ""

    @property
    def numeric(self) -> bool:
        return self.kind in NUMERIC_KINDS


@dataclass
class Row:
    """One row: raw ``values`` by column key; ``link`` (drill-down URL, on the first cell);
    ``links`` per column key; ``classes`` per column key (``favourable``/``unfavourable``);
    ``css`` for the whole row; ``kinds`` overrides a column's kind in this row (a margin
    row, in percent, in a table of money); ``titles`` per column key: the hover text of an
    undefined value (why it is undefined) or of a text cell."""

    values: dict
    link: str = ""
    links: dict = field(default_factory=dict)
    classes: dict = field(default_factory=dict)
    css: str = ""
    kinds: dict = field(default_factory=dict)
    titles: dict = field(default_factory=dict)

    def get(self, key: str):
        return self.values.get(key)


@dataclass
class Cell:
    text: str
    numeric: bool
    css: str
    link: str
    title: str = ""

    def html(self) -> str:
        """The cell as a ``<td>``, escaped as the template escapes (made here: a page has
        thousands of cells, and a template tag per attribute is most of its render time)."""
        classes = _escape(("num " if self.numeric else "") + self.css)
        title = f' title="{_escape(self.title)}"' if self.title else ""
        text = _escape(self.text)
        content = f'<a href="{_escape(self.link)}">{text}</a>' if self.link else text
        return f'<td class="{classes}"{title}>{content}</td>'


def _escape(value: object) -> str:
    """``django.utils.html.conditional_escape`` without its lazy-string wrapper (called for
    every attribute of every cell)."""
    if hasattr(value, "__html__"):
        return value.__html__()
    return html.escape(str(value))


def cells_html(cells: list[Cell]) -> SafeString:
    return mark_safe("".join(cell.html() for cell in cells))  # noqa: S308 (each is escaped)


@dataclass
class Table:
    """A dashboard table. ``id`` is unique on the page (exports select it with
    ``?table=<id>``); ``empty_message`` (and ``empty_link``/``empty_link_label``) say what
    to do when there are no rows."""

    id: str
    title: str
    columns: list[Column]
    rows: list[Row] = field(default_factory=list)
    totals: dict | None = None
    totals_label: str = "Total"
    totals_link: str = ""
    currency: str = ""
    empty_message: str = "No data for this period."
    empty_link: str = ""
    empty_link_label: str = ""
    note: str = ""
    #: Pagination of a drill-down table (set by the drill pages).
    page: object = None
    #: Set by the dashboard view: export links carrying the page's query string.
    csv_url: str = ""
    xlsx_url: str = ""
    exportable: bool = True

    def add(self, values: dict, **kwargs) -> Row:
        row = Row(values, **kwargs)
        self.rows.append(row)
        return row

    def _cells(self, values: dict, row: Row | None) -> list[Cell]:
        cells = []
        for index, column in enumerate(self.columns):
            value = values.get(column.key)
            kind = (row.kinds.get(column.key) if row is not None else None) or column.kind
            currency = column.currency or self.currency
            css = []
            number = to_number(value) if column.numeric else None
            if number is not None and number < 0:
                css.append("negative")
            link = ""
            if row is not None:
                if row.classes.get(column.key):
                    css.append(row.classes[column.key])
                link = row.links.get(column.key, "") or (row.link if index == 0 else "")
            elif index == 0:
                link = self.totals_link
            title = ""
            if value == UNDEFINED or (column.numeric and value is not None and number is None):
                title = (row.titles.get(column.key) if row is not None else "") or UNDEFINED_TITLE
            elif row is not None and (value is None or not column.numeric):
                # a missing number's reason, or a text cell's hover (a flag's months)
                title = row.titles.get(column.key, "")
            elif kind == POINTS and number is not None:
                title = POINTS_TITLE
            cells.append(
                Cell(
                    format_value(value, kind, currency), column.numeric, " ".join(css), link, title
                )
            )
        return cells

    def rendered_rows(self) -> list[tuple[Row, list[Cell]]]:
        return [(row, self._cells(row.values, row)) for row in self.rows]

    def rendered_totals(self) -> list[Cell] | None:
        if self.totals is None:
            return None
        values = {self.columns[0].key: self.totals_label, **self.totals}
        return self._cells(values, None)

    def rows_html(self) -> list[tuple[Row, SafeString]]:
        """Each row with its cells as HTML (the page's table body)."""
        return [(row, cells_html(cells)) for row, cells in self.rendered_rows()]

    def totals_html(self) -> SafeString | None:
        totals = self.rendered_totals()
        return None if totals is None else cells_html(totals)

    def headers(self) -> list[str]:
        """Export headers: the labels, money columns with their currency."""
        out = []
        for column in self.columns:
            currency = column.currency or self.currency
            out.append(
                f"{column.label} ({currency})"
                if column.kind == MONEY and currency
                else column.label
            )
        return out

    def export_rows(self) -> list[list]:
        rows = [
            [
                export_value(row.values.get(c.key), row.kinds.get(c.key) or c.kind)
                for c in self.columns
            ]
            for row in self.rows
        ]
        if self.totals is not None:
            values = {self.columns[0].key: self.totals_label, **self.totals}
            rows.append([export_value(values.get(c.key), c.kind) for c in self.columns])
        return rows
