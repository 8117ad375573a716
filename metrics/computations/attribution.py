"""Revenue attribution models (docs/metrics.md, "Revenue attribution").

Pure functions over plain data: :class:`Touchpoint` and :class:`Conversion` in, an
:class:`AttributionResult` out. Typical use::

    journeys = build_journeys(touchpoints, conversions, lookback=timedelta(days=90))
    result = attribute(journeys, model="linear", group_by="channel")

:func:`build_journeys` does the work shared by every model once (eligible touchpoints of each
conversion, non-converting journeys), so running all models costs one preparation.

Exactness (docs/metrics.md, "Revenue attribution"):

* first_touch, last_touch, linear and position_based credits are exact rationals. Per
  conversion they are kept as integer numerators over one integer denominator (1, n, or
  5(n-2) for position-based), so the cent allocation is integer arithmetic and the attributed
  conversions are exact :class:`~fractions.Fraction` sums.
* time_decay weights 2^(-Δ/half_life) are irrational in general. They are computed in binary
  floating point relative to the latest eligible touchpoint (whose weight is exactly 1, so the
  sum is never 0), quantised to integer multiples of 2^-60, and then normalised exactly, so
  each conversion's shares sum to exactly 1 and its cents sum to its amount. Weights that are
  exact powers of two (Δ a whole number of half-lives apart) are therefore exact. Attributed
  conversions are summed at a resolution of 10^-18 per conversion (a Fraction over 10^18).
* markov solves the absorbing chain exactly with Fractions (Gaussian elimination on an
  integer matrix) when it has at most ``MARKOV_EXACT_MAX_STATES`` transient states, and with
  double-precision Gaussian elimination above that (the matrix is a diagonally dominant
  M-matrix, so elimination without pivoting is stable); the removal effects are then
  normalised exactly so the shares sum to exactly 1 either way.
* shapley (an extra model): per conversion, the Shapley value of
  the unanimity game over the distinct groups of its eligible touchpoints, i.e. 1/m to each
  of its m distinct groups (see :func:`_shapley`); exact like linear.
"""

from __future__ import annotations

import gc
import math
from bisect import bisect_left, bisect_right
from collections import defaultdict
from collections.abc import Callable, Hashable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from fractions import Fraction
from functools import cached_property
from operator import attrgetter

from finhub.core.money import from_cents, to_cents
from metrics.computations.allocation import allocate_cents, allocate_cents_scaled

FIRST_TOUCH = "first_touch"
LAST_TOUCH = "last_touch"
LINEAR = "linear"
POSITION_BASED = "position_based"
TIME_DECAY = "time_decay"
MARKOV = "markov"
SHAPLEY = "shapley"
#: Model identifiers (docs/metrics.md, "Attribution models"), in presentation order.
MODELS = (FIRST_TOUCH, LAST_TOUCH, LINEAR, POSITION_BASED, TIME_DECAY, MARKOV, SHAPLEY)

GROUP_BY_CHANNEL = "channel"
GROUP_BY_CAMPAIGN = "campaign"
GROUP_BYS = (GROUP_BY_CHANNEL, GROUP_BY_CAMPAIGN)

#: Key of the report row for conversions without an eligible touchpoint
#: (docs/metrics.md, "Revenue attribution").
UNATTRIBUTED_KEY = "(unattributed)"

DEFAULT_LOOKBACK = timedelta(days=90)
DEFAULT_HALF_LIFE = timedelta(days=7)

#: Largest chain (transient states incl. START) solved with exact Fractions; see module doc.
MARKOV_EXACT_MAX_STATES = 40

_TIME_DECAY_SCALE_BITS = 60
_CONVERSIONS_SCALE = 10**18


class AttributionError(ValueError):
    """Invalid attribution input (unknown model or grouping, bad lookback or half-life)."""


@dataclass(slots=True)
class Touchpoint:
    """A marketing touch of a contact. ``occurred_at`` is timezone-aware.

    Not frozen only because a million of these are built per run (a frozen dataclass is about
    four times slower to construct); the computations never modify one.

    ``touchpoint_id`` breaks ties between equal times (docs/metrics.md, "Revenue attribution"
    orders eligible
    touchpoints by ``(occurred_at, touchpoint id)``), so all ids of one run must be mutually
    comparable (all ints or all strings).
    """

    touchpoint_id: int | str
    contact_id: Hashable
    occurred_at: datetime
    channel: str
    campaign: str = ""


@dataclass(slots=True)
class Conversion:
    """A won deal (docs/metrics.md, "Conversions and eligible touchpoints"): value = ``amount``
    (reporting currency),
    time = ``converted_at`` (the close timestamp, timezone-aware)."""

    conversion_id: Hashable
    contact_id: Hashable
    converted_at: datetime
    amount: Decimal


@dataclass(frozen=True, slots=True)
class GroupCredit:
    """One report row: a channel's or campaign's attributed conversions and revenue."""

    key: str
    conversions: Fraction
    revenue: Decimal


@dataclass(frozen=True)
class AttributionResult:
    """The report of one model at one grouping (docs/metrics.md, "Revenue attribution").

    ``groups`` has one row per channel (or campaign) seen in the touchpoints, sorted by key,
    with zero rows kept. ``attributed_revenue`` equals the sum of the amounts of the
    conversions with at least one eligible touchpoint (each rounded half-up to cents first,
    since allocations are made in cents), and the rows' revenues sum to it exactly.
    Unattributed conversions are reported (count and amount), never dropped.
    """

    model: str
    group_by: str
    groups: tuple[GroupCredit, ...]
    attributed_count: int
    attributed_revenue: Decimal
    unattributed_count: int
    unattributed_revenue: Decimal

    def rows(self) -> list[GroupCredit]:
        """The report rows: the groups, then ``(unattributed)`` when there are any."""
        rows = list(self.groups)
        if self.unattributed_count:
            rows.append(
                GroupCredit(
                    key=UNATTRIBUTED_KEY,
                    conversions=Fraction(self.unattributed_count),
                    revenue=self.unattributed_revenue,
                )
            )
        return rows

    def by_key(self) -> dict[str, GroupCredit]:
        """The rows keyed by group key (``(unattributed)`` included when present)."""
        return {row.key: row for row in self.rows()}


@dataclass
class Journeys:
    """Eligible touchpoints per conversion and the non-converting journeys (docs/metrics.md,
    "Revenue attribution").

    Built once by :func:`build_journeys` and shared by every model and grouping.
    ``attributed`` holds ``(conversion, amount in cents, eligible touchpoints ordered by
    (occurred_at, touchpoint_id))`` for conversions with at least one eligible touchpoint;
    ``unattributed`` the conversions without one. :attr:`non_converting` gives, per contact
    with touchpoints (in the window) and no conversion at all, its touchpoints in time order
    (the Markov model's NULL paths); it is sorted on first use, since only markov needs it.
    """

    lookback: timedelta
    attributed: list[tuple[Conversion, int, tuple[Touchpoint, ...]]]
    unattributed: list[Conversion]
    group_keys: dict[str, tuple[str, ...]]
    non_converting_touchpoints: list[list[Touchpoint]] = field(repr=False)
    window: tuple[datetime, datetime] | None = None

    @cached_property
    def non_converting(self) -> list[tuple[Touchpoint, ...]]:
        with paused_gc():
            return self._non_converting_paths()

    def _non_converting_paths(self) -> list[tuple[Touchpoint, ...]]:
        paths = []
        for contact_touchpoints in self.non_converting_touchpoints:
            contact_touchpoints.sort(key=_ORDER)
            if self.window is not None:
                start, stop = self.window
                path = tuple(t for t in contact_touchpoints if start <= t.occurred_at <= stop)
                if path:
                    paths.append(path)
            else:
                paths.append(tuple(contact_touchpoints))
        return paths


_ORDER = attrgetter("occurred_at", "touchpoint_id")


@contextmanager
def paused_gc() -> Iterator[None]:
    """Pause the cyclic garbage collector while building large acyclic structures.

    Building a million touchpoints otherwise triggers repeated full collections that scan
    every object already built (about a third of the run time); nothing built here forms
    reference cycles, so pausing loses nothing. The previous state is restored.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def build_journeys(
    touchpoints: Iterable[Touchpoint],
    conversions: Iterable[Conversion],
    *,
    lookback: timedelta = DEFAULT_LOOKBACK,
    window: tuple[datetime, datetime] | None = None,
) -> Journeys:
    """Find each conversion's eligible touchpoints (docs/metrics.md, "Conversions and eligible
    touchpoints").

    Eligible: the contact's touchpoints with ``converted_at - lookback <= occurred_at <=
    converted_at``, ordered by ``(occurred_at, touchpoint_id)``; each conversion looks back
    independently (two conversions may share touchpoints). The touchpoints are grouped by
    contact, each converting contact's list is sorted once and each conversion takes a slice
    found by bisection, so the work is linear in the touchpoints plus O(log) per conversion.
    ``window`` (inclusive bounds) limits the touchpoints of non-converting contacts used as
    Markov NULL paths (the "analysis window"); ``None`` uses all of them.
    """
    if lookback < timedelta(0):
        raise AttributionError("lookback must not be negative")
    with paused_gc():
        return _build_journeys(touchpoints, conversions, lookback=lookback, window=window)


def _build_journeys(
    touchpoints: Iterable[Touchpoint],
    conversions: Iterable[Conversion],
    *,
    lookback: timedelta,
    window: tuple[datetime, datetime] | None,
) -> Journeys:
    touchpoints = touchpoints if isinstance(touchpoints, list) else list(touchpoints)
    by_contact: dict[Hashable, list[Touchpoint]] = defaultdict(list)
    for touchpoint in touchpoints:
        by_contact[touchpoint.contact_id].append(touchpoint)
    group_keys = {
        GROUP_BY_CHANNEL: tuple(sorted({t.channel for t in touchpoints})),
        GROUP_BY_CAMPAIGN: tuple(sorted({t.campaign for t in touchpoints})),
    }

    conversions_by_contact: dict[Hashable, list[Conversion]] = defaultdict(list)
    for conversion in conversions:
        conversions_by_contact[conversion.contact_id].append(conversion)

    attributed: list[tuple[Conversion, int, tuple[Touchpoint, ...]]] = []
    unattributed: list[Conversion] = []
    for contact_id, contact_conversions in conversions_by_contact.items():
        contact_touchpoints = by_contact.get(contact_id)
        if not contact_touchpoints:
            unattributed.extend(contact_conversions)
            continue
        contact_touchpoints.sort(key=_ORDER)
        times = [touchpoint.occurred_at for touchpoint in contact_touchpoints]
        for conversion in contact_conversions:
            end = conversion.converted_at
            low = bisect_left(times, end - lookback)
            high = bisect_right(times, end)
            if low < high:
                eligible = tuple(contact_touchpoints[low:high])
                attributed.append((conversion, to_cents(conversion.amount), eligible))
            else:
                unattributed.append(conversion)

    return Journeys(
        lookback=lookback,
        attributed=attributed,
        unattributed=unattributed,
        group_keys=group_keys,
        non_converting_touchpoints=[
            contact_touchpoints
            for contact_id, contact_touchpoints in by_contact.items()
            if contact_id not in conversions_by_contact
        ],
        window=window,
    )


# --- per-conversion credits: (integer numerators per group, common denominator) ------------

_Credits = tuple[dict[str, int], int]
# A model's rule: (group key of each touchpoint, the conversion, its touchpoints) -> credits.
_CreditRule = Callable[[Sequence[str], Conversion, Sequence[Touchpoint]], _Credits]


def _first_touch(
    keys: Sequence[str], _conversion: Conversion, _touchpoints: Sequence[Touchpoint]
) -> _Credits:
    """docs/metrics.md, "Revenue attribution" first touch: 1 for t1."""
    return {keys[0]: 1}, 1


def _last_touch(
    keys: Sequence[str], _conversion: Conversion, _touchpoints: Sequence[Touchpoint]
) -> _Credits:
    """docs/metrics.md, "Revenue attribution" last touch: 1 for tn."""
    return {keys[-1]: 1}, 1


def _sum_by_key(keys: Sequence[str], numerators: Sequence[int]) -> dict[str, int]:
    totals: dict[str, int] = {}
    for key, numerator in zip(keys, numerators, strict=True):
        totals[key] = totals.get(key, 0) + numerator
    return totals


def _linear(
    keys: Sequence[str], _conversion: Conversion, _touchpoints: Sequence[Touchpoint]
) -> _Credits:
    """docs/metrics.md, "Revenue attribution" linear: 1/n each (numerator 1 over denominator n)."""
    totals: dict[str, int] = {}
    for key in keys:
        totals[key] = totals.get(key, 0) + 1
    return totals, len(keys)


_POSITION_CACHE: dict[int, tuple[tuple[int, ...], int]] = {}


def position_based_weights(n: int) -> tuple[tuple[int, ...], int]:
    """Integer numerators and denominator of the position-based credits (docs/metrics.md, "Revenue
    attribution").

    n=1: 1; n=2: 1/2 each; n>=3: 0.4 to t1 and tn, 0.2/(n-2) to each middle one, i.e.
    2(n-2), 1, …, 1, 2(n-2) over 5(n-2). Cached per n (the credits depend on n only).
    """
    cached = _POSITION_CACHE.get(n)
    if cached is None:
        if n < 1:
            raise AttributionError("position-based credits need at least one touchpoint")
        if n == 1:
            cached = ((1,), 1)
        elif n == 2:
            cached = ((1, 1), 2)
        else:
            end = 2 * (n - 2)
            cached = ((end, *([1] * (n - 2)), end), 5 * (n - 2))
        _POSITION_CACHE[n] = cached
    return cached


def _position_based(
    keys: Sequence[str], _conversion: Conversion, _touchpoints: Sequence[Touchpoint]
) -> _Credits:
    numerators, denominator = position_based_weights(len(keys))
    return _sum_by_key(keys, numerators), denominator


def time_decay_weights(
    occurred_at: Sequence[datetime], half_life: timedelta
) -> tuple[tuple[int, ...], int]:
    """Integer weights of the time-decay model and their sum (docs/metrics.md, "Revenue
    attribution").

    w_i = 2^(-(converted_at - occurred_at_i) / half_life). The common factor
    2^(-(converted_at - latest) / half_life) cancels in w_i / Σw, so the weights are taken
    relative to the latest touchpoint (w_i / w_max = 2^(-(t_max - t_i) / half_life); the latest
    weighs exactly 2^60), computed in double precision and rounded to integers at 2^60. The
    shares w_i / Σw are then exact fractions of these integers and sum to exactly 1.
    """
    latest = max(occurred_at)
    scale = 1 << _TIME_DECAY_SCALE_BITS
    weights = tuple(
        scale if t == latest else round(math.ldexp(2.0 ** (-((latest - t) / half_life)), 60))
        for t in occurred_at
    )
    return weights, sum(weights)


def _time_decay_factory(half_life: timedelta) -> _CreditRule:
    def _time_decay(
        keys: Sequence[str], conversion: Conversion, touchpoints: Sequence[Touchpoint]
    ) -> _Credits:
        weights, total = time_decay_weights([t.occurred_at for t in touchpoints], half_life)
        return _sum_by_key(keys, weights), total

    return _time_decay


def _heuristic(
    journeys: Journeys,
    *,
    model: str,
    group_by: str,
    credit: _CreditRule,
    exact_conversions: bool,
) -> AttributionResult:
    """Credits per conversion, allocated in cents per conversion and group (docs/metrics.md,
    "Revenue attribution")."""
    get_key = attrgetter(group_by)
    cents: dict[str, int] = dict.fromkeys(journeys.group_keys[group_by], 0)
    # Exact models: Σ numerators per (key, denominator); few distinct denominators.
    exact: dict[tuple[str, int], int] = defaultdict(int)
    # time_decay: Σ round(share * 10^18) per key.
    scaled: dict[str, int] = defaultdict(int)
    total_cents = 0
    for conversion, amount_cents, touchpoints in journeys.attributed:
        keys = [get_key(touchpoint) for touchpoint in touchpoints]
        numerators, denominator = credit(keys, conversion, touchpoints)
        total_cents += amount_cents
        for key, part in allocate_cents_scaled(amount_cents, numerators, denominator).items():
            cents[key] += part
        if exact_conversions:
            for key, numerator in numerators.items():
                exact[key, denominator] += numerator
        else:
            for key, numerator in numerators.items():
                scaled[key] += (2 * numerator * _CONVERSIONS_SCALE + denominator) // (
                    2 * denominator
                )
    conversions: dict[str, Fraction] = defaultdict(Fraction)
    if exact_conversions:
        for (key, denominator), numerator in exact.items():
            conversions[key] += Fraction(numerator, denominator)
    else:
        for key, numerator in scaled.items():
            conversions[key] = Fraction(numerator, _CONVERSIONS_SCALE)
    return _result(journeys, model, group_by, conversions, cents, total_cents)


def _result(
    journeys: Journeys,
    model: str,
    group_by: str,
    conversions: dict[str, Fraction],
    cents: dict[str, int],
    total_cents: int,
) -> AttributionResult:
    keys = sorted(set(cents) | set(conversions))
    groups = tuple(
        GroupCredit(
            key=key,
            conversions=conversions.get(key, Fraction(0)),
            revenue=from_cents(cents.get(key, 0)),
        )
        for key in keys
    )
    return AttributionResult(
        model=model,
        group_by=group_by,
        groups=groups,
        attributed_count=len(journeys.attributed),
        attributed_revenue=from_cents(total_cents),
        unattributed_count=len(journeys.unattributed),
        unattributed_revenue=from_cents(sum(to_cents(c.amount) for c in journeys.unattributed)),
    )


# --- Markov removal effect ---------------------------------------------------------------


@dataclass(frozen=True)
class MarkovChain:
    """Aggregated first-order transition counts (docs/metrics.md, "Markov removal effect").

    ``states`` are the channel (or campaign) states, indexed 1..k; index 0 is START,
    ``k + 1`` CONVERSION and ``k + 2`` NULL. ``counts[(i, j)]`` is the number of observed
    transitions from i to j.
    """

    states: tuple[str, ...]
    counts: dict[tuple[int, int], int]


def markov_chain(
    converting_paths: Iterable[Iterable[str]], null_paths: Iterable[Iterable[str]]
) -> MarkovChain:
    """Count transitions of START → states… → CONVERSION / NULL paths (docs/metrics.md, "Revenue
    attribution").

    Counts are aggregated in one pass (an integer per pair), so the solve only sees k+1
    transient states whatever the number of paths. States are indexed alphabetically.
    """
    return markov_chain_weighted(
        ((path, 1, 0) for path in converting_paths), ((path, 0, 1) for path in null_paths)
    )


def markov_chain_weighted(
    *path_groups: Iterable[tuple[Iterable[str], int, int]],
) -> MarkovChain:
    """:func:`markov_chain` over distinct paths given with their counts.

    Each item is ``(path, conversions, nulls)``: the path was observed ``conversions`` times
    ending in CONVERSION and ``nulls`` times ending in NULL (the usual path-table input of
    Markov attribution tools; identical to listing every path once per observation).
    """
    width = 1 << 32  # pair (i, j) as i * width + j: cheap integer dictionary keys
    conversion_code, null_code = width - 1, width - 2
    index: dict[str, int] = {}
    pair_counts: dict[int, int] = defaultdict(int)
    for group in path_groups:
        for path, conversions, nulls in group:
            weight = conversions + nulls
            previous = 0
            for state in path:
                position = index.get(state)
                if position is None:
                    position = index[state] = len(index) + 1
                pair_counts[previous * width + position] += weight
                previous = position
            if previous:
                if conversions:
                    pair_counts[previous * width + conversion_code] += conversions
                if nulls:
                    pair_counts[previous * width + null_code] += nulls
    states = tuple(sorted(index))
    renumber = {index[state]: position for position, state in enumerate(states, start=1)}
    renumber.update({0: 0, conversion_code: len(states) + 1, null_code: len(states) + 2})
    counts: dict[tuple[int, int], int] = {}
    for key, count in pair_counts.items():
        source, target = divmod(key, width)
        counts[renumber[source], renumber[target]] = count
    return MarkovChain(states=states, counts=counts)


def _invert_exact(matrix: list[list[int]]) -> list[list[Fraction]]:
    """Gauss-Jordan inverse with exact Fractions (no pivoting: a nonsingular M-matrix)."""
    size = len(matrix)
    rows = [
        [Fraction(value) for value in row] + [Fraction(int(i == j)) for j in range(size)]
        for i, row in enumerate(matrix)
    ]
    for pivot_index in range(size):
        pivot_row = rows[pivot_index]
        pivot = pivot_row[pivot_index]
        pivot_row[:] = [value / pivot for value in pivot_row]
        for row_index in range(size):
            if row_index == pivot_index:
                continue
            row = rows[row_index]
            factor = row[pivot_index]
            if factor:
                row[:] = [a - factor * b if b else a for a, b in zip(row, pivot_row, strict=True)]
    return [row[size:] for row in rows]


def _invert_float(matrix: list[list[int]]) -> list[list[float]]:
    """In-place Gauss-Jordan inverse in double precision (no pivoting: diagonally dominant)."""
    size = len(matrix)
    rows = [[float(value) for value in row] for row in matrix]
    for k in range(size):
        row_k = rows[k]
        pivot = row_k[k]
        row_k[k] = 1.0
        inverse_pivot = 1.0 / pivot
        row_k[:] = [value * inverse_pivot for value in row_k]
        for i in range(size):
            if i == k:
                continue
            row_i = rows[i]
            factor = row_i[k]
            if factor:
                row_i[k] = 0.0
                row_i[:] = [a - factor * b for a, b in zip(row_i, row_k, strict=True)]
    return rows


def markov_removal_effects(
    chain: MarkovChain, *, exact: bool | None = None
) -> tuple[Fraction | float, dict[str, Fraction | float]]:
    """P (START → CONVERSION) and the removal effect of each state (docs/metrics.md, "Revenue
    attribution").

    With A = diag(out) - C over the transient states (C the transition counts, out the
    outgoing totals), I - Q = diag(out)^-1 A, so h = A^-1 b (b = counts into CONVERSION) is
    the conversion probability from each state and P = h(START). Removing c sends every
    transition into c to NULL, so P₋c is the probability of converting without visiting c:
    P₋c = P - f_c * h(c), where f_c = A^-1[START, c] / A^-1[c, c] is the probability of ever
    visiting c from START. RE_c = 1 - P₋c / P = f_c * h(c) / P. One inverse serves all c.
    ``exact=None`` chooses Fractions up to ``MARKOV_EXACT_MAX_STATES`` transient states.
    """
    size = len(chain.states) + 1  # START + states
    if exact is None:
        exact = size <= MARKOV_EXACT_MAX_STATES
    conversion_state = size
    matrix = [[0] * size for _ in range(size)]
    into_conversion = [0] * size
    for (source, target), count in chain.counts.items():
        matrix[source][source] += count  # outgoing total on the diagonal
        if target < size:
            matrix[source][target] -= count
        elif target == conversion_state:
            into_conversion[source] += count
    zero: Fraction | float = Fraction(0) if exact else 0.0
    if not any(into_conversion):
        return zero, {state: zero for state in chain.states}
    inverse: Sequence[Sequence[Fraction | float]] = (
        _invert_exact(matrix) if exact else _invert_float(matrix)
    )
    conversion_probability = [
        sum((a * b for a, b in zip(row, into_conversion, strict=True) if b), zero)
        for row in inverse
    ]
    probability = conversion_probability[0]
    effects: dict[str, Fraction | float] = {}
    for index, state in enumerate(chain.states, start=1):
        reach = inverse[0][index] / inverse[index][index]
        effects[state] = reach * conversion_probability[index] / probability
    return probability, effects


def _markov(journeys: Journeys, *, group_by: str, exact: bool | None) -> AttributionResult:
    """docs/metrics.md, "Revenue attribution" Markov: shares RE_c / ΣRE of the attributed
    conversions and revenue."""
    get_key = attrgetter(group_by)
    chain = markov_chain(
        (map(get_key, touchpoints) for _c, _cents, touchpoints in journeys.attributed),
        (map(get_key, path) for path in journeys.non_converting),
    )
    _probability, effects = markov_removal_effects(chain, exact=exact)
    total_cents = sum(cents for _c, cents, _t in journeys.attributed)
    conversions: dict[str, Fraction] = {}
    cents: dict[str, int] = dict.fromkeys(journeys.group_keys[group_by], 0)
    exact_effects = {key: Fraction(effect) for key, effect in effects.items()}
    total_effect = sum(exact_effects.values(), Fraction(0))
    if total_effect > 0:
        shares = {key: effect / total_effect for key, effect in exact_effects.items()}
        count = len(journeys.attributed)
        conversions = {key: share * count for key, share in shares.items()}
        cents.update(allocate_cents(total_cents, shares))
    return _result(journeys, MARKOV, group_by, conversions, cents, total_cents)


# --- Shapley ------------------------------------------------------------------------------


def _shapley(
    keys: Sequence[str], _conversion: Conversion, _touchpoints: Sequence[Touchpoint]
) -> _Credits:
    """Shapley value per conversion over the distinct groups of its eligible touchpoints.

    The game of one conversion: v(S) = 1 when S contains every group of the journey (the
    journey as observed needs all of them), else 0. All groups of the journey are symmetric
    players of a unanimity game, so each gets 1/m (m = number of distinct groups): unlike
    linear, repeated touches of one group do not add credit. Summed over conversions this is
    the Shapley value of the sum of these games (Shapley values are additive).
    """
    distinct = set(keys)
    return dict.fromkeys(distinct, 1), len(distinct)


# --- entry points -------------------------------------------------------------------------


def attribute(
    journeys: Journeys,
    *,
    model: str,
    group_by: str = GROUP_BY_CHANNEL,
    half_life: timedelta = DEFAULT_HALF_LIFE,
    markov_exact: bool | None = None,
) -> AttributionResult:
    """Run one attribution model over prepared journeys (docs/metrics.md, "Revenue attribution",
    "Model identifiers").

    ``model`` is one of :data:`MODELS`; ``group_by`` is ``"channel"`` or ``"campaign"``.
    Revenue is allocated in cents per conversion and per group (for markov: once across the
    groups), so the rows sum exactly to ``attributed_revenue``.
    """
    if group_by not in GROUP_BYS:
        raise AttributionError(f"unknown grouping {group_by!r}; use one of {', '.join(GROUP_BYS)}")
    with paused_gc():
        return _attribute(journeys, model, group_by, half_life, markov_exact)


def _attribute(
    journeys: Journeys,
    model: str,
    group_by: str,
    half_life: timedelta,
    markov_exact: bool | None,
) -> AttributionResult:
    if model == MARKOV:
        return _markov(journeys, group_by=group_by, exact=markov_exact)
    credit: _CreditRule | None
    if model == TIME_DECAY:
        if half_life <= timedelta(0):
            raise AttributionError("half-life must be positive")
        credit = _time_decay_factory(half_life)
    else:
        credit = {
            FIRST_TOUCH: _first_touch,
            LAST_TOUCH: _last_touch,
            LINEAR: _linear,
            POSITION_BASED: _position_based,
            SHAPLEY: _shapley,
        }.get(model)
        if credit is None:
            raise AttributionError(f"unknown model {model!r}; use one of {', '.join(MODELS)}")
    return _heuristic(
        journeys,
        model=model,
        group_by=group_by,
        credit=credit,
        exact_conversions=model != TIME_DECAY,
    )


def run_attribution(
    touchpoints: Iterable[Touchpoint],
    conversions: Iterable[Conversion],
    *,
    model: str,
    group_by: str = GROUP_BY_CHANNEL,
    lookback: timedelta = DEFAULT_LOOKBACK,
    half_life: timedelta = DEFAULT_HALF_LIFE,
) -> AttributionResult:
    """:func:`build_journeys` then :func:`attribute` for one model (docs/metrics.md, "Revenue
    attribution")."""
    journeys = build_journeys(touchpoints, conversions, lookback=lookback)
    return attribute(journeys, model=model, group_by=group_by, half_life=half_life)


def attribute_all(
    journeys: Journeys,
    *,
    models: Sequence[str] = MODELS,
    group_by: str = GROUP_BY_CHANNEL,
    half_life: timedelta = DEFAULT_HALF_LIFE,
) -> dict[str, AttributionResult]:
    """:func:`attribute` for several models over one preparation (docs/metrics.md, "Revenue
    attribution")."""
    return {
        model: attribute(journeys, model=model, group_by=group_by, half_life=half_life)
        for model in models
    }
