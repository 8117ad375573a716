"""Conversion to the reporting currency (METRICS.md preamble).

"All money is Decimal in the reporting currency (converted at the FX rate of the
transaction's date), rounded half-up to cents only at presentation". A rate is the number of
reporting-currency units for one unit of the foreign currency on that date. There is no
fallback to another date: a missing rate is an error naming the currency pair and date.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date, datetime
from decimal import Decimal


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
        items = (
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


def convert(amount: Decimal, currency: str, on: date, *, rates: FxRates) -> Decimal:
    """Function form of :meth:`FxRates.convert`."""
    return rates.convert(amount, currency, on)
