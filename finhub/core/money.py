"""Money: cents, half-up rounding and conversion into the reporting currency.

All money is Decimal in the reporting currency, converted at the FX rate of the transaction's
date and rounded half-up to cents only at presentation (docs/metrics.md, "Conventions"). A
rate is the number of reporting-currency units for one unit of the foreign currency on that
date. There is no fallback to another date: an amount without a rate is left out and
listed, as one :func:`missing_rate` record, wherever it happens.

Django-free on purpose: the pure computations (``metrics/computations``) use it too; the
rates are read from the database by ``metrics.selectors.fx_rates``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction

CENT = Decimal("0.01")
_ONE = Decimal(1)

#: One amount that could not be converted: ``{"currency", "date", "amount"}`` (ISO date, the
#: amount as exact decimal text in its own currency) and ``"deal"`` (the deal's external id)
#: when the amount is a deal's.
MissingRate = dict[str, str]


def to_decimal(value: Decimal | Fraction | int) -> Decimal:
    """A Decimal for ``value``; a Fraction is divided in the current Decimal context."""
    if isinstance(value, Fraction):
        return Decimal(value.numerator) / Decimal(value.denominator)
    return Decimal(value)


def round_half_up(value: Decimal | Fraction | int, places: int = 2) -> Decimal:
    """``value`` rounded half-up to ``places`` decimals (2: cents)."""
    return to_decimal(value).quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)


def present_money(amount: Decimal | Fraction | int) -> Decimal:
    """``amount`` rounded half-up to cents: the presentation rule (docs/metrics.md,
    "Conventions")."""
    return round_half_up(amount, 2)


def to_cents(amount: Decimal) -> int:
    """Whole cents of ``amount``, half-up (allocations are made in cents: docs/metrics.md,
    "Cents allocation")."""
    return int(present_money(amount).scaleb(2))


def from_cents(cents: int) -> Decimal:
    """The Decimal amount for an integer number of cents, e.g. ``1050`` → ``Decimal("10.50")``."""
    return Decimal(cents).scaleb(-2).quantize(CENT)


class MissingRateError(LookupError):
    """No FX rate for a currency on a date."""

    def __init__(self, currency: str, reporting_currency: str, on: date):
        self.currency, self.reporting_currency, self.on = currency, reporting_currency, on
        super().__init__(
            f"no FX rate {currency}->{reporting_currency} for {on.isoformat()}: "
            f"load the rate of that date before converting"
        )


class FxRates:
    """Daily rates into one reporting currency: ``{(currency, date): rate}``."""

    def __init__(
        self,
        reporting_currency: str,
        rates: Mapping[tuple[str, date], Decimal] | Iterable[tuple[str, date, Decimal]] = (),
    ):
        self.reporting_currency = reporting_currency.upper()
        items: Iterable[tuple[tuple[str, date], Decimal]] = (
            rates.items()
            if isinstance(rates, Mapping)
            else (((currency, day), rate) for currency, day, rate in rates)
        )
        self._rates: dict[tuple[str, date], Decimal] = {}
        for (currency, day), rate in items:
            rate = Decimal(rate)
            if rate <= 0:
                raise ValueError(f"FX rate {currency} on {day} must be positive, got {rate}")
            self._rates[currency.upper(), day] = rate

    def rate(self, currency: str, on: date) -> Decimal:
        """The rate of ``currency`` on ``on`` (1 for the reporting currency itself)."""
        currency = currency.upper()
        if isinstance(on, datetime):
            on = on.date()
        if currency == self.reporting_currency:
            return Decimal(1)
        try:
            return self._rates[currency, on]
        except KeyError:
            raise MissingRateError(currency, self.reporting_currency, on) from None

    def convert(self, amount: Decimal, currency: str, on: date) -> Decimal:
        """``amount`` in ``currency`` converted at the rate of the transaction's date
        ``on``, unrounded (round half-up to cents only at presentation)."""
        return Decimal(amount) * self.rate(currency, on)


def missing_rate(currency: str, on: date, amount: Decimal, *, deal: str = "") -> MissingRate:
    """The record of an amount left out for want of a rate (see :data:`MissingRate`)."""
    record = {"currency": currency, "date": on.isoformat(), "amount": str(to_decimal(amount))}
    if deal:
        record["deal"] = deal
    return record


@dataclass
class Converter:
    """Converts amounts into the reporting currency and records those it cannot.

    ``convert(amount, currency, day)`` is the value in the reporting currency, or None when
    the rate of that day is missing; the amount is then listed in ``missing``.
    """

    rates: FxRates
    missing: list[MissingRate] = field(default_factory=list)

    def __call__(
        self, amount: Decimal, currency: str, on: date, *, deal: str = ""
    ) -> Decimal | None:
        # The common cases inline, with FxRates.convert's arithmetic (a page converts tens
        # of thousands of amounts): an amount in the reporting currency, or with a rate.
        if type(amount) is Decimal and type(on) is date:
            if currency == self.rates.reporting_currency:
                return amount * _ONE
            rate = self.rates._rates.get((currency, on))
            if rate is not None:
                return amount * rate
        try:
            return self.rates.convert(amount, currency, on)
        except MissingRateError:
            self.missing.append(missing_rate(currency, on, amount, deal=deal))
            return None
