"""Render built reports (reports/building.py) as one file: CSV, XLSX or PDF.

Every format shows the same values the dashboards export (``dashboards.tables
.export_value``: money rounded to cents, percentages in percent, undefined ratios as the
text ``undefined``) or display (``Table.rendered_rows``: the PDF's formatted cells), so a
figure reads the same on the page, in the spreadsheet and on paper.
"""

from __future__ import annotations

import datetime as dt

from django.utils import timezone

from dashboards.freshness import Freshness
from dashboards.tables import Table, export_value

FORMATS = ("csv", "xlsx", "pdf")
CONTENT_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "pdf": "application/pdf",
}


def typed_rows(table: Table) -> list[list[tuple[object, str]]]:
    """Each row's (export value, column kind) pairs, the totals row last: a row may give a
    cell another kind than its column's (a margin, in percent, in a table of money)."""
    rows = [
        [
            (
                export_value(row.values.get(c.key), row.kinds.get(c.key) or c.kind),
                row.kinds.get(c.key) or c.kind,
            )
            for c in table.columns
        ]
        for row in table.rows
    ]
    if table.totals is not None:
        values = {table.columns[0].key: table.totals_label, **table.totals}
        rows.append([(export_value(values.get(c.key), c.kind), c.kind) for c in table.columns])
    return rows


def moment_text(moment: dt.datetime | None) -> str:
    """A timestamp in local time (``2026-04-01 06:00 UTC``), "—" when there is none."""
    if moment is None:
        return "\u2014"
    local = timezone.localtime(moment) if timezone.is_aware(moment) else moment
    return f"{local:%Y-%m-%d %H:%M} {local.tzname() or ''}".strip()


def freshness_lines(freshness: Freshness) -> list[str]:
    """One line per source: name, state and last good sync."""
    if not freshness.available:
        return ["Source freshness is not available."]
    if not freshness.sources:
        return ["No data source is set up."]
    return [
        f"{source.name} ({source.kind_label}): {source.status_label}, last successful sync "
        f"{moment_text(source.last_success_at)}"
        + (f" \u2014 {source.message}" if source.is_warning and source.message else "")
        for source in freshness.sources
    ]


def render(
    reports: list, *, fmt: str, title: str, generated_by: str, generated_at: dt.datetime
) -> bytes:
    """``reports`` (BuiltReport, in order) as one file of format ``fmt`` (one of FORMATS):
    csv — every table of every report, a title line before each; xlsx — one sheet per report,
    an "About" sheet first; pdf — a cover, the contents with page numbers, then each report
    with its charts drawn server-side (reports/rendering/charts.py)."""
    if fmt == "csv":
        from reports.rendering.csv_file import render_csv

        return render_csv(
            reports, title=title, generated_by=generated_by, generated_at=generated_at
        )
    if fmt == "xlsx":
        from reports.rendering.xlsx_file import render_xlsx

        return render_xlsx(
            reports, title=title, generated_by=generated_by, generated_at=generated_at
        )
    if fmt == "pdf":
        from reports.rendering.pdf_file import render_pdf

        return render_pdf(
            reports, title=title, generated_by=generated_by, generated_at=generated_at
        )
    raise ValueError(f"format: {fmt!r} is not one of {', '.join(FORMATS)}.")
