"""Revenue attribution per close day: a report of any period rebuilt from one read.

Every model but markov credits a won deal from its own contact's touchpoints within the
lookback before its close, and allocates its amount in cents per deal (docs/metrics.md,
"Revenue attribution"). A deal's credits therefore do not depend on the period it is
reported in, and the report of a period is the sum, over the days of the period, of the
credits of the deals closed that day (local time, :func:`metrics.selectors.period_bounds`).

:func:`attribution_days_report` computes those per-day sums once over a long range (with the
model code itself: :func:`metrics.computations.attribution.attribute` over each day's deals);
:func:`attribution_from_days` adds up the days of a period inside that range and presents
them exactly as :func:`metrics.reports.attribution.attribution_report` does. Markov, whose
chain pools the non-converting journeys of the period, is not a sum over days and is refused.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import replace
from fractions import Fraction

from django.utils import timezone

from finhub.core.money import from_cents, to_cents
from metrics import selectors
from metrics.computations.attribution import (
    MARKOV,
    UNATTRIBUTED_KEY,
    Conversion,
    Journeys,
)
from metrics.reports.attribution import AttributionContext
from metrics.reports.numbers import num


def attribution_days_report(
    context: AttributionContext, *, model: str, group_by: str, half_life_days: str
) -> dict:
    """Per local close day of the context's won deals: per group key the attributed
    conversions (exact, ``[numerator, denominator]``) and revenue (cents), and the
    attributed and unattributed counts and cents. JSON-serialisable; days without a won
    deal are left out, and so are a day's zero entries.

    ``context`` is read over the whole range the days should cover (any models but markov,
    e.g. ``models=(model,)``). Raises ValueError for markov."""
    if model == MARKOV:
        raise ValueError("markov attribution is not a sum over close days: use the live report")
    journeys = context.journeys
    tz = timezone.get_current_timezone()

    def day_of(conversion: Conversion) -> str:
        return conversion.converted_at.astimezone(tz).date().isoformat()

    attributed: dict[str, list] = defaultdict(list)
    unattributed: dict[str, list[Conversion]] = defaultdict(list)
    for journey in journeys.attributed:
        attributed[day_of(journey[0])].append(journey)
    for conversion in journeys.unattributed:
        unattributed[day_of(conversion)].append(conversion)

    days: dict[str, dict] = {}
    for day in sorted(attributed.keys() | unattributed.keys()):
        day_journeys = Journeys(
            lookback=journeys.lookback,
            attributed=attributed.get(day, []),
            unattributed=unattributed.get(day, []),
            group_keys=journeys.group_keys,
            converting_only=True,
        )
        result = replace(context, journeys=day_journeys).attribute(
            model=model, group_by=group_by, half_life_days=half_life_days
        )
        days[day] = {
            "conversions": {
                row.key: [row.conversions.numerator, row.conversions.denominator]
                for row in result.groups
                if row.conversions
            },
            "cents": {row.key: to_cents(row.revenue) for row in result.groups if row.revenue},
            "attributed_count": result.attributed_count,
            "attributed_cents": to_cents(result.attributed_revenue),
            "unattributed_count": result.unattributed_count,
            "unattributed_cents": to_cents(result.unattributed_revenue),
        }
    return {
        "model": model,
        "group_by": group_by,
        "half_life_days": half_life_days,
        "reporting_currency": selectors.reporting_currency(),
        "start": context.start.isoformat(),
        "end": context.end.isoformat(),
        "lookback_days": context.lookback_days,
        "missing_fx": context.inputs.missing_fx,
        "days": days,
    }


def attribution_from_days(
    days: dict, *, start: dt.date, end: dt.date, group_keys: tuple[str, ...]
) -> dict:
    """The :func:`~metrics.reports.attribution.attribution_report` of ``[start, end]`` (same
    model, grouping, half-life and lookback as ``days``) from a days report covering it.

    ``group_keys``: the keys the period's report lists (zero rows included), i.e.
    :func:`metrics.selectors.attribution_period_group_keys` for the grouping. Raises
    ValueError when the period is empty or not inside the days report's range, or when the
    days report left won deals out for want of an FX rate (the live report then tells which
    of them fall in the period)."""
    if start > end:
        raise ValueError("the period is empty: start is after end")
    covered = dt.date.fromisoformat(days["start"]), dt.date.fromisoformat(days["end"])
    if start < covered[0] or end > covered[1]:
        raise ValueError(
            f"{start}..{end} is not inside the days report's {covered[0]}..{covered[1]}"
        )
    if days["missing_fx"]:
        raise ValueError("the days report left won deals out for want of an FX rate")
    low, high = start.isoformat(), end.isoformat()
    # Σ numerators per (key, denominator) first: few distinct denominators, one Fraction each.
    numerators: dict[tuple[str, int], int] = defaultdict(int)
    cents: dict[str, int] = dict.fromkeys(group_keys, 0)
    attributed_count = attributed_cents = unattributed_count = unattributed_cents = 0
    for day, credits in days["days"].items():
        if not low <= day <= high:
            continue
        for key, (numerator, denominator) in credits["conversions"].items():
            numerators[key, denominator] += numerator
        for key, part in credits["cents"].items():
            cents[key] = cents.get(key, 0) + part
        attributed_count += credits["attributed_count"]
        attributed_cents += credits["attributed_cents"]
        unattributed_count += credits["unattributed_count"]
        unattributed_cents += credits["unattributed_cents"]
    conversions: dict[str, Fraction] = defaultdict(Fraction)
    for (key, denominator), numerator in numerators.items():
        conversions[key] += Fraction(numerator, denominator)
    rows = [
        {
            "key": key,
            "conversions": num(conversions.get(key, Fraction(0))),
            "revenue": num(from_cents(cents.get(key, 0))),
        }
        for key in sorted(cents.keys() | conversions.keys())
    ]
    if unattributed_count:
        rows.append(
            {
                "key": UNATTRIBUTED_KEY,
                "conversions": num(Fraction(unattributed_count)),
                "revenue": num(from_cents(unattributed_cents)),
            }
        )
    return {
        "reporting_currency": days["reporting_currency"],
        "rows": rows,
        "attributed_count": attributed_count,
        "attributed_revenue": num(from_cents(attributed_cents)),
        "unattributed_count": unattributed_count,
        "unattributed_revenue": num(from_cents(unattributed_cents)),
        "missing_fx": [],
    }
