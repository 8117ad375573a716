"""A report pack as one PDF, rendered by WeasyPrint from the Django templates in
templates/reports/pdf/: a cover, the contents with each report's page number, then each
report (title, parameters, computed-at time, data freshness, notes, its charts drawn
server-side by reports/rendering/charts.py and its tables, whose header repeats on every
page they run across). Every page carries "Page n of N".

WeasyPrint fetches nothing from the network: the stylesheet is inline, the charts are
``data:`` URIs, fonts come from fontconfig (DejaVu), and the URL fetcher refuses every
scheme but ``data:``.
"""

from __future__ import annotations

import datetime as dt
import logging

from django.template.loader import render_to_string
from weasyprint import HTML
from weasyprint.urls import URLFetcher

from reports.rendering import freshness_lines, moment_text
from reports.rendering.charts import chart_data_uri

TEMPLATE = "reports/pdf/pack.html"
# WeasyPrint logs every layout step at INFO: dozens of lines per PDF in the worker's log.
logging.getLogger("weasyprint.progress").setLevel(logging.WARNING)


class LocalOnlyFetcher(URLFetcher):
    """Fetches ``data:`` URIs only: a report never reaches the network or the file system."""

    def __init__(self, **kwargs):
        super().__init__(allowed_protocols={"data"}, **kwargs)


def _blocks(report) -> list[dict]:
    """The report's tables in order, each with the chart drawing it (if any) just above."""
    by_table = {id(chart.table): chart for chart in report.charts}
    blocks = []
    for table in report.tables:
        chart = by_table.get(id(table))
        blocks.append(
            {
                "table": table,
                "headers": [(column.label, column.numeric) for column in table.columns],
                "rows": [cells for _row, cells in table.rendered_rows()],
                "totals": table.rendered_totals(),
                "chart": chart,
                "chart_src": chart_data_uri(chart) if chart is not None else "",
            }
        )
    return blocks


def pdf_context(reports: list, *, title: str, generated_by: str, generated_at: dt.datetime) -> dict:
    periods = list(dict.fromkeys(report.params.period.label for report in reports))
    return {
        "title": title,
        "generated_by": generated_by,
        "generated_at": moment_text(generated_at),
        "periods": periods,
        "reports": [
            {
                "anchor": f"report-{number}-{report.key}",
                "title": report.title,
                "description": getattr(report, "description", ""),
                "parameters": report.params.described(),
                "computed_at": moment_text(report.computed_at),
                "live": report.computed_at is None,
                "freshness": freshness_lines(report.freshness),
                "freshness_warnings": len(report.freshness.warnings),
                "notes": report.notes,
                "blocks": _blocks(report),
            }
            for number, report in enumerate(reports, start=1)
        ],
    }


def render_pdf(reports: list, *, title: str, generated_by: str, generated_at: dt.datetime) -> bytes:
    html = render_to_string(
        TEMPLATE,
        pdf_context(reports, title=title, generated_by=generated_by, generated_at=generated_at),
    )
    document = HTML(string=html, base_url="data:,", url_fetcher=LocalOnlyFetcher())
    return document.write_pdf()
