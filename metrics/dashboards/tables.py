"""Dashboard tables: typed columns, raw values, formatting for the page and the exports.

Rows keep raw values (Decimal, int, str, None); the page shows them formatted (money with
the currency and thousands separators, negatives with a minus sign and the ``negative``
class, ratios and percentages with fixed decimals, ``undefined`` for a ratio with a zero
denominator — METRICS.md §4) and the CSV/XLSX exports write the raw numbers.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from metrics.computations.presentation import UNDEFINED

MONEY = "money"
PERCENT = "percent"  # the value is already in percent (12.5 means 12.5%)
RATIO = "ratio"  # a plain number with 2 decimals (LTV:CAC 3.25, payback 7.40 months)
INT = "int"
TEXT = "text"
DATE = "date"
NUMERIC_KINDS = (MONEY, PERCENT, RATIO, INT)
MINUS = "\u2212"
NONE_TEXT = "\u2014"  # a missing value (a ratio with a zero denominator shows "undefined")


def to_number(value) -> Decimal | int | None:
    """A stored snapshot value (``"123.45"``, ``"undefined"``, None, a number) as a number,
    None when undefined or missing."""
    if value is None or value == UNDEFINED or value == "":
        return None
    if isinstance(value, int | Decimal):
        return value
    try:
        return Decimal(str(value))
    except InvalidOperation:
        return None


def _grouped(value: Decimal, places: int) -> str:
    quantum = Decimal(1).scaleb(-places)
    return f"{abs(value).quantize(quantum, rounding=ROUND_HALF_UP):,.{places}f}"


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
        return UNDEFINED if value == UNDEFINED else NONE_TEXT if value is None else ""
    sign = MINUS if number < 0 else ""
    if kind == MONEY:
        text = _grouped(Decimal(number), 2)
        return f"{sign}{currency} {text}" if currency else f"{sign}{text}"
    if kind == PERCENT:
        return f"{sign}{_grouped(Decimal(number), 1)}%"
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
    places = {MONEY: 2, PERCENT: 2, RATIO: 4}[kind]
    return Decimal(number).quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)


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
    row, in percent, in a table of money)."""

    values: dict
    link: str = ""
    links: dict = field(default_factory=dict)
    classes: dict = field(default_factory=dict)
    css: str = ""
    kinds: dict = field(default_factory=dict)

    def get(self, key: str):
        return self.values.get(key)


@dataclass
class Cell:
    text: str
    numeric: bool
    css: str
    link: str


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
            cells.append(
                Cell(format_value(value, kind, currency), column.numeric, " ".join(css), link)
            )
        return cells

    def rendered_rows(self) -> list[tuple[Row, list[Cell]]]:
        return [(row, self._cells(row.values, row)) for row in self.rows]

    def rendered_totals(self) -> list[Cell] | None:
        if self.totals is None:
            return None
        values = {self.columns[0].key: self.totals_label, **self.totals}
        return self._cells(values, None)

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
