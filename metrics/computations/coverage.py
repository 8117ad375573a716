"""Coverage percentages and their improvement over a baseline (docs/metrics.md, "Coverage and
improvement metrics").

A coverage is the part of a whole that a measurement reaches, in %; its improvement is the
coverage now minus the coverage at the baseline, in percentage points.
"""

from __future__ import annotations

from decimal import Decimal

from metrics.computations.presentation import ratio

HUNDRED = Decimal(100)


def percent_of(part: Decimal, whole: Decimal) -> Decimal | None:
    """``part / whole`` in % (unrounded); ``None`` (undefined) when ``whole`` is 0."""
    share = ratio(part, whole)
    return None if share is None else share * HUNDRED


def improvement_pp(current: Decimal | None, baseline: Decimal | None) -> Decimal | None:
    """Improvement = coverage now - coverage at the baseline, in percentage points (both in
    %). The baseline is the first measurement of that coverage or a value a project manager
    entered; undefined when either coverage is undefined."""
    if current is None or baseline is None:
        return None
    return Decimal(current) - Decimal(baseline)
