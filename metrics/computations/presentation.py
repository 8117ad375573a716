"""Money and ratio helpers shared by the computations (METRICS.md preamble).

All money is Decimal in the reporting currency, rounded half-up to cents only at
presentation, except allocations, which are made in (integer) cents. A ratio whose
denominator is zero is undefined: the computations return ``None`` and it is presented as
``"undefined"`` (METRICS.md §4 last paragraph), never as 0 or infinity.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction

CENT = Decimal("0.01")
UNDEFINED = "undefined"


def to_decimal(value: Decimal | Fraction | int) -> Decimal:
    """A Decimal for ``value``; a Fraction is divided in the current Decimal context."""
    if isinstance(value, Fraction):
        return Decimal(value.numerator) / Decimal(value.denominator)
    return Decimal(value)


def present_money(amount: Decimal | Fraction | int) -> Decimal:
    """``amount`` rounded half-up to cents: the presentation rule of the METRICS.md preamble."""
    return to_decimal(amount).quantize(CENT, rounding=ROUND_HALF_UP)


def to_cents(amount: Decimal) -> int:
    """Whole cents of ``amount``, half-up (allocations are made in cents, METRICS.md §1)."""
    return int(Decimal(amount).quantize(CENT, rounding=ROUND_HALF_UP).scaleb(2))


def from_cents(cents: int) -> Decimal:
    """The Decimal amount for an integer number of cents, e.g. ``1050`` → ``Decimal("10.50")``."""
    return Decimal(cents).scaleb(-2).quantize(CENT)


def ratio(
    numerator: Decimal | Fraction | int, denominator: Decimal | Fraction | int
) -> Decimal | None:
    """``numerator / denominator`` as a Decimal, or ``None`` (undefined) when the denominator
    is zero (METRICS.md §4: "A ratio with a zero denominator is undefined")."""
    if denominator == 0:
        return None
    return to_decimal(numerator) / to_decimal(denominator)


def format_ratio(value: Decimal | Fraction | None, places: int = 4) -> str:
    """A ratio as text with ``places`` decimals half-up, or ``"undefined"`` for ``None``."""
    if value is None:
        return UNDEFINED
    exponent = Decimal(1).scaleb(-places)
    return str(to_decimal(value).quantize(exponent, rounding=ROUND_HALF_UP))
