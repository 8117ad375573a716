"""Spreadsheet-safe export formats shared by every admin that exports (django-import-export).

A text cell starting with ``=``, ``+``, ``-``, ``@``, tab or CR is run as a formula by
spreadsheet programs (OWASP "CSV injection"). The library's own escaping only strips ``=``
and turns every cell into text; these formats prefix such text with an apostrophe instead
and leave numbers, dates and booleans as they are, so a real negative number stays a number.

Spreadsheets also read the full-width forms (U+FF1D, U+FF0B, U+FF0D, U+FF20) as the ASCII
signs, and skip invisible characters (zero-width space, BOM, direction marks) in front of
them, so the check looks at the text after Unicode compatibility normalisation (NFKC) with
leading invisible characters and spaces removed. The cell itself is exported unchanged.
"""

import unicodedata
from typing import Any, Protocol

from import_export.formats import base_formats
from tablib import Dataset

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
FORMULA_SIGNS = ("=", "+", "-", "@")
# Controls, format characters (zero-width space, BOM, direction marks, word joiner…),
# spaces and separators.
_INVISIBLE_CATEGORIES = frozenset({"Cc", "Cf", "Zs", "Zl", "Zp"})
# Unicode's other default-ignorable characters: combining grapheme joiner, Hangul fillers,
# Khmer inherent vowels, Mongolian and other variation selectors.
_IGNORABLE = frozenset(
    {0x034F, 0x115F, 0x1160, 0x17B4, 0x17B5, 0x3164, 0xFFA0}
    | set(range(0x180B, 0x1810))
    | set(range(0xFE00, 0xFE10))
    | set(range(0xE0100, 0xE01F0))
)


def _is_invisible(char: str) -> bool:
    return unicodedata.category(char) in _INVISIBLE_CATEGORIES or ord(char) in _IGNORABLE


def looks_like_formula(text: str) -> bool:
    """Whether a spreadsheet could read ``text`` as a formula."""
    if text.startswith(FORMULA_PREFIXES):
        return True
    normalised = unicodedata.normalize("NFKC", text)
    start = 0
    while start < len(normalised) and _is_invisible(normalised[start]):
        start += 1
    return normalised.startswith(FORMULA_SIGNS, start)


def neutralise(value: Any) -> Any:
    """Prefix formula-like text with an apostrophe; every other value stays as is."""
    if isinstance(value, str) and looks_like_formula(value):
        return "'" + value
    return value


class _TablibFormat(Protocol):
    def get_title(self) -> str: ...


class SafeExportMixin:
    """Neutralises every cell on export, whatever resource produced the dataset."""

    # The text (CSV) or the bytes (XLSX) of the format; tablib is untyped.
    def export_data(self: _TablibFormat, dataset: Dataset, **kwargs: Any) -> Any:
        for index in range(len(dataset)):
            dataset[index] = tuple(neutralise(cell) for cell in dataset[index])
        return dataset.export(self.get_title(), **kwargs)


class CSV(SafeExportMixin, base_formats.CSV):
    pass


class XLSX(SafeExportMixin, base_formats.XLSX):
    pass


EXPORT_FORMATS = [CSV, XLSX]
