"""The formula guard of every export: look-alike signs and invisible characters do not escape it."""

from decimal import Decimal

import pytest
import tablib

from finhub.core.spreadsheets import CSV, looks_like_formula, neutralise


@pytest.mark.parametrize(
    "text",
    [
        "\uff1d1+2",  # full-width equals sign
        "\uff0b1",  # full-width plus sign
        "\uff0d1",  # full-width hyphen-minus
        "\uff20SUM(A1)",  # full-width commercial at
        "\ufe661+2",  # small equals sign
        "\u200b=1+2",  # zero-width space
        "\ufeff=1+2",  # byte order mark
        "\u200e=1+2",  # left-to-right mark
        "\u2060=1+2",  # word joiner
        "\u00ad=1+2",  # soft hyphen
        "\u034f=1+2",  # combining grapheme joiner
        "\u3164=1+2",  # Hangul filler
        "\ufe0f=1+2",  # variation selector
        "\u200b\u200c\u200d\ufeff\uff1d1+2",  # several, then a full-width sign
        " =1+2",  # a leading space, trimmed by some spreadsheet imports
        "\u3000=1+2",  # ideographic space
        "\n=1+2",
        "\x00=1+2",
    ],
)
def test_look_alike_and_hidden_formulas_are_neutralised(text):
    assert looks_like_formula(text)
    assert neutralise(text) == "'" + text  # the text itself is kept as it was


@pytest.mark.parametrize("text", ["=1+2", "+1", "-1", "@SUM(A1)", "\tx", "\rx"])
def test_plain_formula_prefixes_still_are(text):
    assert neutralise(text) == "'" + text


@pytest.mark.parametrize(
    "text",
    [
        "plain",
        "1=1",
        "a\uff1db",
        "",
        "Müller & Söhne",
        "\uff46\uff55\uff4c\uff4c width",
        "\u200bname",
        "₩1,000",
    ],
)
def test_ordinary_text_is_left_alone(text):
    assert neutralise(text) == text


def test_numbers_stay_numbers():
    assert neutralise(Decimal("-5.00")) == Decimal("-5.00")
    assert neutralise(-3) == -3
    assert neutralise(None) is None


def test_the_csv_export_neutralises_look_alike_formulas():
    dataset = tablib.Dataset(headers=["description", "amount"])
    dataset.append(['\uff1dHYPERLINK("http://x")', Decimal("-1.00")])
    dataset.append(["\u200b=cmd|' /C calc'!A0", Decimal("2.00")])
    exported = CSV().export_data(dataset)
    lines = exported.splitlines()
    assert lines[1].startswith("\"'\uff1dHYPERLINK")
    assert lines[1].endswith(",-1.00")
    assert lines[2].startswith("'\u200b=cmd")
