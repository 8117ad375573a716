"""Spreadsheet-safe export formats shared by every admin that exports (django-import-export).

A text cell starting with ``=``, ``+``, ``-``, ``@``, tab or CR is run as a formula by
spreadsheet programs (OWASP "CSV injection"). The library's own escaping only strips ``=``
and turns every cell into text; these formats prefix such text with an apostrophe instead
and leave numbers, dates and booleans as they are, so a real negative number stays a number.
"""

from typing import Any

from import_export.formats import base_formats

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def neutralise(value: Any) -> Any:
    """Prefix formula-like text with an apostrophe; every other value stays as is."""
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


class SafeExportMixin:
    """Neutralises every cell on export, whatever resource produced the dataset."""

    def export_data(self, dataset, **kwargs):
        for index in range(len(dataset)):
            dataset[index] = tuple(neutralise(cell) for cell in dataset[index])
        return dataset.export(self.get_title(), **kwargs)


class CSV(SafeExportMixin, base_formats.CSV):
    pass


class XLSX(SafeExportMixin, base_formats.XLSX):
    pass


EXPORT_FORMATS = [CSV, XLSX]
