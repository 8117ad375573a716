"""Dashboard charts (``dashboards.charts.Chart``) drawn server-side with matplotlib, as SVG
for the PDF reports.

Why matplotlib and not Chart.js: reports are rendered by the Celery worker (scheduled
packs, the month-end close), which has no browser to run Chart.js in; matplotlib draws the
same data (the Chart's labels, series, stacking, orientation and reference lines: what the
dashboards hand Chart.js) in-process, fast, with the local DejaVu fonts and no network.
The SVG keeps its text as paths so the PDF needs no font from the chart.

Figures are ``matplotlib.figure.Figure`` objects, never pyplot's: nothing is registered
globally, so nothing stays open after a chart is drawn (the Agg/SVG canvases are plain
objects freed with the figure), and rendering is safe in a threaded worker.
"""

from __future__ import annotations

import base64
import io
import math
import re

from matplotlib import rc_context
from matplotlib.backends.backend_svg import FigureCanvasSVG
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter

from dashboards.charts import PALETTE, Chart
from dashboards.tables import MONEY, PERCENT, POINTS, RATIO
from metrics.reports.numbers import to_number

WIDTH_IN = 10.0
LABEL_CHARS = 40
HEIGHT_IN = 3.4
STYLE = {
    "svg.fonttype": "none",
    "font.family": "DejaVu Sans",
    "font.size": 8,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "svg.hashsalt": "finhub",  # stable ids: the same chart gives the same SVG
}


_CSS_RGB = re.compile(r"rgba?\(\s*([\d.]+)\s*,\s*([\d.]+)\s*,\s*([\d.]+)\s*(?:,\s*([\d.]+)\s*)?\)")


def css_color(color: str):
    """A dashboard colour for matplotlib: the pages use CSS ``rgb()``/``rgba()`` (a forecast
    band) beside hex colours; matplotlib takes hex, names and 0-1 tuples only."""
    match = _CSS_RGB.fullmatch(color.strip())
    if match is None:
        return color
    red, green, blue, alpha = match.groups()
    return (float(red) / 255, float(green) / 255, float(blue) / 255, float(alpha or 1))


def series_color(color: str, number: int):
    """The series' own colour, else the dashboards' palette colour of its position."""
    return css_color(color) if color else PALETTE[number % len(PALETTE)]


def _coordinate(value) -> float:
    """A drawing coordinate: the exact Decimal becomes a float only here, for matplotlib
    (NaN for an undefined/missing value: a gap, as Chart.js leaves one)."""
    number = to_number(value)
    return math.nan if number is None else float(number)


def _short(label: str) -> str:
    return label if len(label) <= LABEL_CHARS else label[: LABEL_CHARS - 1] + "\u2026"


def _margins(labels: list[str], *, horizontal: bool, rotated: bool, legend: bool, height: float):
    """Fixed margins sized from the longest label (much faster than tight_layout, which
    measures every text twice)."""
    longest = max((len(label) for label in labels), default=1)
    char = 0.075  # inches per character at 8 pt
    left = 0.75 / WIDTH_IN
    bottom = 0.45 / height
    if horizontal:
        left = min(0.45, (longest * char + 0.3) / WIDTH_IN)
    elif rotated:
        bottom = min(0.5, (longest * char * 0.72 + 0.3) / height)
    return {"left": left, "right": 0.80 if legend else 0.98, "bottom": bottom, "top": 0.95}


def _axis_formatter(kind: str) -> FuncFormatter:
    def money(value, _pos):
        return f"{value:,.0f}"

    def percent(value, _pos):
        return f"{value:,.0f}%"

    def points(value, _pos):
        return f"{value:,.1f} pp"

    def ratio(value, _pos):
        return f"{value:,.2f}"

    return FuncFormatter(
        {MONEY: money, PERCENT: percent, POINTS: points, RATIO: ratio}.get(kind, money)
    )


def chart_svg(chart: Chart) -> str:
    """The chart as SVG text; "" when it has nothing to draw (no labels)."""
    if not chart.labels or not chart.series:
        return ""
    labels = [_short(str(label)) for label in chart.labels]
    count = len(labels)
    height = max(2.2, 0.26 * count + 0.9) if chart.horizontal else HEIGHT_IN
    with rc_context(STYLE):
        figure = Figure(figsize=(WIDTH_IN, min(height, 9.0)))
        FigureCanvasSVG(figure)
        axes = figure.add_subplot()
        positions = list(range(count))
        bars = [s for s in chart.series if (s.type or chart.type) == "bar"]
        lines = [s for s in chart.series if (s.type or chart.type) != "bar"]
        draw_bar = axes.barh if chart.horizontal else axes.bar
        drawn = [s for s in bars if not s.spacer]
        width = 0.8 if chart.stacked else 0.8 / max(1, len(drawn))
        base = [0.0] * count
        index = 0
        for number, series in enumerate(chart.series):
            if series not in bars:
                continue
            color = series_color(series.color, number)
            values = [_coordinate(v) for v in series.values]
            if chart.stacked:
                kwargs = {"left" if chart.horizontal else "bottom": list(base)}
                if not series.spacer:
                    draw_bar(positions, values, width, color=color, label=series.label, **kwargs)
                base = [
                    b + (0.0 if math.isnan(v) else v) for b, v in zip(base, values, strict=True)
                ]
                continue
            offset = -0.4 + width * (index + 0.5)
            index += 1
            draw_bar(
                [p + offset for p in positions], values, width, color=color, label=series.label
            )
        for number, series in enumerate(chart.series):
            if series not in lines:
                continue
            color = series_color(series.color, number)
            values = [_coordinate(v) for v in series.values]
            if chart.horizontal:
                axes.plot(values, positions, color=color, marker="o", label=series.label)
            else:
                axes.plot(
                    positions, values, color=color, marker="o", markersize=3, label=series.label
                )
        for reference in chart.references:
            value = _coordinate(reference.value)
            if math.isnan(value):
                continue
            line = axes.axvline if chart.horizontal else axes.axhline
            line(
                value,
                color=css_color(reference.color),
                linestyle="--",
                linewidth=1,
                label=reference.label,
            )
        formatter = _axis_formatter(chart.value_kind)
        if chart.horizontal:
            axes.set_yticks(positions, labels)
            axes.invert_yaxis()
            axes.xaxis.set_major_formatter(formatter)
            axes.axvline(0, color="#52606d", linewidth=0.6)
        else:
            axes.set_xticks(
                positions,
                labels,
                rotation=45 if count > 8 else 0,
                ha="right" if count > 8 else "center",
            )
            axes.yaxis.set_major_formatter(formatter)
            axes.axhline(0, color="#52606d", linewidth=0.6)
        if chart.value_kind == MONEY and chart.currency:
            (axes.set_xlabel if chart.horizontal else axes.set_ylabel)(chart.currency)
        axes.grid(axis="x" if chart.horizontal else "y", color="#e4e7eb", linewidth=0.6)
        axes.set_axisbelow(True)
        legend = len([s for s in chart.series if not s.spacer]) > 1 or bool(chart.references)
        if legend:
            axes.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), frameon=False)
        figure.subplots_adjust(
            **_margins(
                labels,
                horizontal=chart.horizontal,
                rotated=count > 8,
                legend=legend,
                height=figure.get_figheight(),
            )
        )
        buffer = io.StringIO()
        figure.savefig(buffer, format="svg", metadata={"Date": None})
    return buffer.getvalue()


def chart_data_uri(chart: Chart) -> str:
    """The chart's SVG as a ``data:`` URI for an ``<img>`` of the PDF template ("" when
    there is nothing to draw)."""
    svg = chart_svg(chart)
    if not svg:
        return ""
    return "data:image/svg+xml;base64," + base64.b64encode(svg.encode("utf-8")).decode("ascii")
