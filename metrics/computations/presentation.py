"""Ratios shared by the computations (docs/metrics.md, "Conventions"); money, its rounding and FX
conversion are in :mod:`finhub.core.money`.

A ratio whose denominator is zero is undefined: the computations return ``None`` and it is
presented as ``"undefined"`` (docs/metrics.md, "CAC, LTV and payback" last paragraph), never as 0
or infinity.
"""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

from finhub.core.money import round_half_up, to_decimal

UNDEFINED = "undefined"


def ratio(
    numerator: Decimal | Fraction | int, denominator: Decimal | Fraction | int
) -> Decimal | None:
    """``numerator / denominator`` as a Decimal, or ``None`` (undefined) when the denominator
    is zero (docs/metrics.md, "CAC, LTV and payback": "A ratio with a zero denominator is
    undefined")."""
    if denominator == 0:
        return None
    return to_decimal(numerator) / to_decimal(denominator)


def format_ratio(value: Decimal | Fraction | None, places: int = 4) -> str:
    """A ratio as text with ``places`` decimals half-up, or ``"undefined"`` for ``None``."""
    if value is None:
        return UNDEFINED
    return str(round_half_up(value, places))
