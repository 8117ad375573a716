"""Money: conversion to the reporting currency, the missing-rate record and presentation
rounding (docs/metrics.md, "Conventions")."""

from datetime import date, datetime
from decimal import Decimal

import pytest

from finhub.core.money import (
    Converter,
    FxRates,
    MissingRateError,
    from_cents,
    present_money,
    round_half_up,
    to_cents,
)
from metrics.computations.presentation import format_ratio

RATES = FxRates(
    "eur",
    [("USD", date(2026, 1, 5), Decimal("0.9")), ("USD", date(2026, 1, 6), Decimal("0.95"))],
)


def test_converts_with_the_rate_of_the_transaction_date():
    assert RATES.convert(Decimal("100.00"), "USD", date(2026, 1, 5)) == Decimal("90.0000")
    assert RATES.convert(Decimal("100.00"), "usd", date(2026, 1, 6)) == Decimal("95.0000")
    assert RATES.convert(Decimal("10.015"), "USD", datetime(2026, 1, 5, 23, 0)) == Decimal(
        "9.0135"
    )  # unrounded until presentation


def test_reporting_currency_needs_no_rate():
    assert RATES.convert(Decimal("12.34"), "EUR", date(2030, 1, 1)) == Decimal("12.34")


def test_missing_rate_is_a_clear_error():
    with pytest.raises(MissingRateError, match=r"no FX rate USD->EUR for 2026-01-07"):
        RATES.convert(Decimal("1"), "USD", date(2026, 1, 7))
    with pytest.raises(MissingRateError, match="GBP"):
        RATES.rate("GBP", date(2026, 1, 5))


def test_rates_must_be_positive():
    with pytest.raises(ValueError, match="positive"):
        FxRates("EUR", {("USD", date(2026, 1, 1)): Decimal("0")})


def test_presentation_rounds_half_up_to_cents():
    assert present_money(Decimal("10.005")) == Decimal("10.01")
    assert present_money(Decimal("-10.005")) == Decimal("-10.01")
    assert present_money(Decimal("10.0049")) == Decimal("10.00")
    assert to_cents(Decimal("9.0135")) == 901
    assert format_ratio(None) == "undefined"
    assert format_ratio(Decimal("0.12345")) == "0.1235"
    assert from_cents(901) == Decimal("9.01")
    assert round_half_up(Decimal("0.12345"), 4) == Decimal("0.1235")


def test_converter_leaves_out_and_records_what_has_no_rate():
    convert = Converter(RATES)
    assert convert(Decimal("100.00"), "USD", date(2026, 1, 5)) == Decimal("90.0000")
    assert convert(Decimal("12.345"), "USD", date(2026, 1, 7)) is None
    assert convert(Decimal("5"), "GBP", date(2026, 1, 5), deal="D-1") is None
    assert convert.missing == [
        {"currency": "USD", "date": "2026-01-07", "amount": "12.345"},
        {"currency": "GBP", "date": "2026-01-05", "amount": "5", "deal": "D-1"},
    ]
