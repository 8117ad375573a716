"""Numbers in stored reports: how they are written and read back.

Stored results are JSON: money and ratios as exact decimal text (money rounded half-up to
cents) and an undefined ratio (zero denominator) as ``"undefined"`` (docs/metrics.md,
"Conventions").
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from fractions import Fraction

from finhub.core.money import present_money, to_decimal
from metrics.computations.presentation import UNDEFINED, ratio

__all__ = ["UNDEFINED", "money", "num", "percent", "ratio", "to_number"]

HUNDRED = Decimal(100)


def num(value: Decimal | Fraction | int | None) -> str:
    """A number for the stored JSON: its exact decimal text, or ``"undefined"``."""
    return UNDEFINED if value is None else str(to_decimal(value))


def money(value: Decimal | None) -> str:
    """An amount of money for the stored JSON, rounded half-up to cents."""
    return UNDEFINED if value is None else str(present_money(value))


def percent(value: Decimal | None) -> Decimal | None:
    """A fraction in percent (0.125 → 12.5); undefined stays undefined."""
    return None if value is None else value * HUNDRED


def to_number(value: object) -> Decimal | int | None:
    """A stored value (``"123.45"``, ``"undefined"``, None, a number) as a number; None when
    undefined, missing or not a number."""
    if value is None or value == UNDEFINED or value == "":
        return None
    if isinstance(value, int | Decimal):
        return value
    try:
        return Decimal(str(value))
    except InvalidOperation:
        return None
