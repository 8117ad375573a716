"""Pure checks of "the database equals the source, to the cent, nothing double counted".

A side is a mapping ``key -> (count, amount)`` where the key names a bucket (an entity and
a month, say) and the amount is a ``Decimal`` (None for an entity without an amount). Two
sides are equal when every bucket has the same count and the same amount to the cent; a
bucket only one side has is a difference. A duplicate shows up as one extra in a count and
its amount once more in a sum, so equal counts and sums per bucket mean nothing was counted
twice (nor lost).
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Hashable, Iterable, Mapping
from dataclasses import dataclass
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal

CENT = Decimal("0.01")

Bucket = tuple[int, Decimal | None]


def cents(value: Decimal | int | str | None) -> Decimal | None:
    if value is None:
        return None
    return Decimal(str(value)).quantize(CENT, rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class BucketDiff:
    key: Hashable
    expected: Bucket
    actual: Bucket

    def __str__(self) -> str:
        (ec, ea), (ac, aa) = self.expected, self.actual
        return f"{self.key}: source {ec} rows / {ea}, FinHub {ac} rows / {aa}"


@dataclass(frozen=True)
class Comparison:
    """One side (the source, or what a client sent) against FinHub's stored records."""

    label: str
    buckets: int
    matched: int
    expected_rows: int
    actual_rows: int
    expected_amount: Decimal
    actual_amount: Decimal
    diffs: tuple[BucketDiff, ...]

    @property
    def ok(self) -> bool:
        return not self.diffs

    @property
    def matched_pct(self) -> Decimal:
        """Matched buckets / buckets x 100, rounded down (100.00 only when all match)."""
        if self.buckets == 0:
            return Decimal("100.00")
        return (Decimal(100) * self.matched / self.buckets).quantize(CENT, rounding=ROUND_DOWN)

    def summary(self) -> str:
        text = (
            f"{self.label}: reconciliation {self.matched_pct}% ({self.matched}/{self.buckets} "
            f"buckets); rows source {self.expected_rows:,} FinHub {self.actual_rows:,}; "
            f"amount source {self.expected_amount:,} FinHub {self.actual_amount:,}"
        )
        for diff in self.diffs[:5]:
            text += f"\n      differs: {diff}"
        if len(self.diffs) > 5:
            text += f"\n      … and {len(self.diffs) - 5} more differing buckets"
        return text


def totals_compare(
    *, label: str, expected: Mapping[Hashable, Bucket], actual: Mapping[Hashable, Bucket]
) -> Comparison:
    """Compare bucket by bucket; empty buckets (0 rows, no amount) on both sides are ignored."""
    keys = sorted(set(expected) | set(actual), key=repr)
    diffs = []
    buckets = 0
    for key in keys:
        sides = (expected.get(key), actual.get(key))
        has_amount = any(side is not None and side[1] is not None for side in sides)
        zero: Bucket = (0, Decimal("0.00") if has_amount else None)
        exp = _normal(sides[0] or zero)
        act = _normal(sides[1] or zero)
        if exp[0] == 0 and act[0] == 0 and not exp[1] and not act[1]:
            continue
        buckets += 1
        if exp != act:
            diffs.append(BucketDiff(key, exp, act))
    return Comparison(
        label=label,
        buckets=buckets,
        matched=buckets - len(diffs),
        expected_rows=sum(c for c, _ in expected.values()),
        actual_rows=sum(c for c, _ in actual.values()),
        expected_amount=sum((a or Decimal(0) for _, a in expected.values()), Decimal("0.00")),
        actual_amount=sum((a or Decimal(0) for _, a in actual.values()), Decimal("0.00")),
        diffs=tuple(diffs),
    )


def _normal(bucket: Bucket) -> Bucket:
    return (int(bucket[0]), cents(bucket[1]))


def month_of(value: dt.date | dt.datetime | str) -> dt.date:
    if isinstance(value, str):
        value = dt.date.fromisoformat(value[:10])
    if isinstance(value, dt.datetime):
        value = value.astimezone(dt.UTC).date()
    return value.replace(day=1)


def totals_of(
    records: Iterable[Mapping], *, date_field: str, amount_field: str | None
) -> dict[dt.date, Bucket]:
    """Month -> (count, amount) of records as a client sent them (the last version of each
    external id counts once, as an upsert stores it)."""
    latest = {r["external_id"]: r for r in records}
    totals: dict[dt.date, Bucket] = {}
    for record in latest.values():
        month = month_of(record[date_field])
        count, amount = totals.get(month, (0, None if amount_field is None else Decimal(0)))
        if amount_field is not None and amount is not None:
            amount += Decimal(str(record[amount_field]))
        totals[month] = (count + 1, amount)
    return {month: (count, cents(amount)) for month, (count, amount) in totals.items()}


def duplicate_ids(ids: Iterable[str]) -> list[str]:
    """The ids that occur more than once, sorted."""
    return sorted(key for key, n in Counter(ids).items() if n > 1)
