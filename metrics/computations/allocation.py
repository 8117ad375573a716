"""Largest-remainder allocation of an amount in cents (docs/metrics.md, "Revenue attribution").

docs/metrics.md, "Revenue attribution": "each group gets floor(amount in cents * share), and the
leftover cents go one
each to the largest fractional remainders, ties to the alphabetically first group key. So the
parts of one deal sum exactly to its amount". Shares are :class:`fractions.Fraction` (exact), so
no rounding drift can make the parts differ from the whole.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from fractions import Fraction
from math import lcm

from finhub.core.money import from_cents, to_cents


def allocate_cents(amount_cents: int, shares: Mapping[str, Fraction | int]) -> dict[str, int]:
    """Split ``amount_cents`` across the groups of ``shares`` (docs/metrics.md, "Revenue
    attribution").

    ``shares`` maps group key → share; the shares must be non-negative and sum to exactly 1.
    Each group gets ``floor(amount_cents * share)``; the leftover cents (fewer than the number
    of groups) go one each to the groups with the largest fractional remainders, ties to the
    alphabetically first key. The result has every key of ``shares`` and its values sum to
    ``amount_cents`` exactly. A negative amount (a refund) is allocated as the negation of the
    allocation of its absolute value, so the rule stays symmetric.
    """
    if not shares:
        raise ValueError("allocate_cents needs at least one group")
    fractions = {key: Fraction(share) for key, share in shares.items()}
    denominator = lcm(*(share.denominator for share in fractions.values()))
    numerators = {
        key: share.numerator * (denominator // share.denominator)
        for key, share in fractions.items()
    }
    return allocate_cents_scaled(amount_cents, numerators, denominator)


def allocate_cents_scaled(
    amount_cents: int, numerators: Mapping[str, int], denominator: int
) -> dict[str, int]:
    """:func:`allocate_cents` with shares given as ``numerators[key] / denominator``.

    Integer-only arithmetic (the hot path of the attribution models, docs/metrics.md, "Revenue
    attribution"): the
    numerators must be non-negative integers summing to ``denominator``.
    """
    if not numerators:
        raise ValueError("allocation needs at least one group")
    if sum(numerators.values()) != denominator or denominator <= 0:
        raise ValueError(f"shares must sum to 1, got {sum(numerators.values())}/{denominator}")
    if amount_cents < 0:
        negated = allocate_cents_scaled(-amount_cents, numerators, denominator)
        return {key: -part for key, part in negated.items()}
    if len(numerators) == 1:
        (key,) = numerators
        return {key: amount_cents}
    parts: dict[str, int] = {}
    remainders: list[tuple[int, str]] = []
    given = 0
    for key, numerator in numerators.items():
        if numerator < 0:
            raise ValueError(f"share of {key!r} is negative: {numerator}/{denominator}")
        whole, remainder = divmod(amount_cents * numerator, denominator)
        parts[key] = whole
        given += whole
        remainders.append((remainder, key))
    leftover = amount_cents - given
    if leftover:
        # Largest remainder first (same denominator, so integers compare); equal remainders:
        # the alphabetically first key first. Zero-share groups have remainder 0 and the
        # positive remainders outnumber the leftover cents, so they never receive a cent.
        remainders.sort(key=lambda item: (-item[0], item[1]))
        for _remainder, key in remainders[:leftover]:
            parts[key] += 1
    return parts


def allocate_amount(amount: Decimal, shares: Mapping[str, Fraction | int]) -> dict[str, Decimal]:
    """:func:`allocate_cents` for a Decimal amount (rounded half-up to cents first)."""
    return {key: from_cents(c) for key, c in allocate_cents(to_cents(amount), shares).items()}
