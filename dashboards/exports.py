"""CSV and XLSX of any dashboard :class:`~dashboards.tables.Table`.

Uses the formula-safe formats of ``finhub/core/spreadsheets.py`` (text starting with
``=``, ``+``, ``-``, ``@``… gets an apostrophe; numbers stay numbers), so a campaign named
``=HYPERLINK(…)`` cannot run in the reader's spreadsheet.
"""

from __future__ import annotations

import re

import tablib
from django.http import HttpResponse

from dashboards.tables import Table
from finhub.core.spreadsheets import CSV, XLSX

FORMATS = {"csv": CSV, "xlsx": XLSX}


def table_dataset(table: Table) -> tablib.Dataset:
    dataset = tablib.Dataset(headers=table.headers(), title=table.title[:31])
    for row in table.export_rows():
        dataset.append(row)
    return dataset


def table_export(table: Table, fmt: str) -> bytes:
    """The table as a CSV (UTF-8) or XLSX file."""
    content = FORMATS[fmt]().export_data(table_dataset(table))
    return content.encode("utf-8") if isinstance(content, str) else content


def export_filename(stem: str, table: Table, fmt: str) -> str:
    name = re.sub(r"[^A-Za-z0-9._-]+", "-", f"{stem}-{table.id}").strip("-")
    return f"{name}.{fmt}"


def table_export_response(table: Table, fmt: str, *, stem: str) -> HttpResponse:
    format_ = FORMATS[fmt]()
    response = HttpResponse(table_export(table, fmt), content_type=format_.get_content_type())
    if fmt == "csv":
        response["Content-Type"] = "text/csv; charset=utf-8"
    response["Content-Disposition"] = f'attachment; filename="{export_filename(stem, table, fmt)}"'
    return response
