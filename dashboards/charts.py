"""Dashboard charts: the data Chart.js draws (dashboards/static/js/dashboards.js), with a
drill-down link per point and the data table shown beside the chart."""

from __future__ import annotations

from dataclasses import dataclass, field

from dashboards.tables import MONEY, Table
from metrics.reports.numbers import to_number

PALETTE = ["#0b5394", "#b54708", "#1b7f3b", "#6941c6", "#b42318", "#0e7490", "#52606d"]


def chart_number(value) -> str | None:
    """A value for the chart's JSON: exact decimal text (the script makes it a Number), or
    null when undefined/missing (Chart.js leaves a gap)."""
    number = to_number(value)
    return None if number is None else str(number)


@dataclass
class Series:
    label: str
    values: list
    #: One drill-down URL per value ("" = no link): clicking the bar/point opens it.
    links: list[str] = field(default_factory=list)
    #: "bar" or "line" (mixed charts: a line of budget over bars of actuals).
    type: str = ""
    color: str = ""
    #: An invisible stacked series that lifts the next one (the floating bars of a
    #: waterfall): no colour, no legend entry, no tooltip.
    spacer: bool = False


@dataclass
class Reference:
    """A horizontal reference line (a target from the roadmap scorecard)."""

    label: str
    value: object
    color: str = "#b42318"


@dataclass
class Chart:
    id: str
    title: str
    labels: list[str]
    series: list[Series]
    #: The same figures as a table (shown beside the chart; also exportable).
    table: Table
    type: str = "bar"
    value_kind: str = MONEY
    currency: str = ""
    references: list[Reference] = field(default_factory=list)
    description: str = ""
    horizontal: bool = False
    stacked: bool = False
    #: Put the table under the chart instead of beside it (wide tables).
    table_below: bool = False

    @property
    def script_id(self) -> str:
        return f"chart-{self.id}-data"

    @property
    def aria_label(self) -> str:
        return self.description or f"{self.title}; the figures are in the table beside the chart"

    def data(self) -> dict:
        return {
            "type": self.type,
            "labels": [str(label) for label in self.labels],
            "valueKind": self.value_kind,
            "currency": self.currency,
            "horizontal": self.horizontal,
            "stacked": self.stacked,
            "series": [
                {
                    "label": s.label,
                    "type": s.type or self.type,
                    "color": s.color or PALETTE[i % len(PALETTE)],
                    "values": [chart_number(v) for v in s.values],
                    "links": list(s.links) or [""] * len(s.values),
                    "spacer": s.spacer,
                }
                for i, s in enumerate(self.series)
            ],
            "references": [
                {"label": r.label, "value": chart_number(r.value), "color": r.color}
                for r in self.references
                if chart_number(r.value) is not None
            ],
        }
