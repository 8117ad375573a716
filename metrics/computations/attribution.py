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
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from fractions import Fraction
from functools import cached_property
from itertools import pairwise
from operator import attrgetter

import numpy as np

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
    non_converting_touchpoints: list[list[Touchpoint]] = field(default_factory=list, repr=False)
    window: tuple[datetime, datetime] | None = None
    #: Built from columns (:func:`build_journeys_from_columns`): the non-converting
    #: touchpoints in the window, ordered by (contact, occurred_at, id), instead of
    #: ``non_converting_touchpoints`` — markov counts their transitions with array operations.
    null_columns: TouchpointColumns | None = field(default=None, repr=False, compare=False)
    #: Built from the converting contacts' touchpoints only (``converting_only``): no
    #: non-converting journeys, so the markov model, which pools them, refuses to run.
    converting_only: bool = field(default=False, compare=False)

    _keys: dict[str, list[tuple[str, ...]]] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )

    def keys(self, group_by: str) -> list[tuple[str, ...]]:
        """The group keys of each attributed conversion's touchpoints (in ``attributed``
        order), built once per grouping and shared by every model."""
        keys = self._keys.get(group_by)
        if keys is None:
            get_key = attrgetter(group_by)
            keys = self._keys[group_by] = [
                tuple(map(get_key, touchpoints)) for _c, _cents, touchpoints in self.attributed
            ]
        return keys

    _flat: dict[str, _Positions | None] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )

    def positions(self, group_by: str) -> _Positions | None:
        """The attributed journeys flattened for the array allocation (once per grouping);
        None when an amount is too large for it."""
        if group_by not in self._flat:
            self._flat[group_by] = _positions(self, group_by)
        return self._flat[group_by]

    _decay: dict[timedelta, list[tuple[tuple[int, ...], int]]] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )

    def decay_weights(self, half_life: timedelta) -> list[tuple[tuple[int, ...], int]]:
        """:func:`time_decay_weights` of each attributed conversion's touchpoints (in
        ``attributed`` order), computed once per half-life for both groupings."""
        weights = self._decay.get(half_life)
        if weights is None:
            weights = self._decay[half_life] = [
                time_decay_weights([t.occurred_at for t in touchpoints], half_life)
                for _c, _cents, touchpoints in self.attributed
            ]
        return weights

    @cached_property
    def unattributed_cents(self) -> int:
        """Σ of the unattributed amounts in cents (each rounded first), shared by all 14
        reports of a run."""
        return sum(to_cents(c.amount) for c in self.unattributed)

    @cached_property
    def non_converting(self) -> list[tuple[Touchpoint, ...]]:
        with paused_gc():
            if self.null_columns is not None:
                return self.null_columns.paths()
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


# --- journeys from columns: what a database read at scale produces --------------------------

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
MICROSECOND = timedelta(microseconds=1)


def to_micros(moment: datetime) -> int:
    """An aware datetime as whole microseconds since the Unix epoch (exact)."""
    return (moment - EPOCH) // MICROSECOND


@dataclass(frozen=True, eq=False)  # arrays: compared by identity
class TouchpointColumns:
    """Touchpoints as parallel int64 arrays: ids, contact ids, ``occurred_at`` in
    microseconds since the Unix epoch (UTC), and per grouping an index into its names.

    The same touchpoints as a list of :class:`Touchpoint` (``channel_names[channels[i]]`` is
    the i-th one's channel), at a fraction of the memory and time for a million rows: only
    the touchpoints a conversion credits ever become objects.
    """

    ids: np.ndarray
    contacts: np.ndarray
    times: np.ndarray
    channels: np.ndarray
    campaigns: np.ndarray
    channel_names: tuple[str, ...]
    campaign_names: tuple[str, ...]

    def __len__(self) -> int:
        return len(self.ids)

    @classmethod
    def from_touchpoints(cls, touchpoints: Iterable[Touchpoint]) -> TouchpointColumns:
        """Columns of integer-keyed touchpoints (tests; the database read builds them
        directly)."""
        touchpoints = list(touchpoints)
        channel_names = tuple(sorted({t.channel for t in touchpoints}))
        campaign_names = tuple(sorted({t.campaign for t in touchpoints}))
        channel_code = {name: code for code, name in enumerate(channel_names)}
        campaign_code = {name: code for code, name in enumerate(campaign_names)}

        def column(values: Iterable[int]) -> np.ndarray:
            return np.fromiter(values, dtype=np.int64, count=len(touchpoints))

        return cls(
            ids=column(int(t.touchpoint_id) for t in touchpoints),
            contacts=column(int(t.contact_id) for t in touchpoints),  # type: ignore[call-overload]
            times=column(to_micros(t.occurred_at) for t in touchpoints),
            channels=column(channel_code[t.channel] for t in touchpoints),
            campaigns=column(campaign_code[t.campaign] for t in touchpoints),
            channel_names=channel_names,
            campaign_names=campaign_names,
        )

    def taken(self, index: np.ndarray) -> TouchpointColumns:
        """The rows at ``index`` (an index array or a boolean mask), in that order."""
        return TouchpointColumns(
            self.ids[index],
            self.contacts[index],
            self.times[index],
            self.channels[index],
            self.campaigns[index],
            self.channel_names,
            self.campaign_names,
        )

    def touchpoints(self, start: int, stop: int) -> list[Touchpoint]:
        """Rows ``start:stop`` as :class:`Touchpoint` objects."""
        channel_names, campaign_names = self.channel_names, self.campaign_names
        return [
            Touchpoint(pk, contact, EPOCH + timedelta(microseconds=us), channel_names[ch],
                       campaign_names[cp])
            for pk, contact, us, ch, cp in zip(
                self.ids[start:stop].tolist(),
                self.contacts[start:stop].tolist(),
                self.times[start:stop].tolist(),
                self.channels[start:stop].tolist(),
                self.campaigns[start:stop].tolist(),
                strict=True,
            )
        ]  # fmt: skip

    def path_starts(self) -> np.ndarray:
        """Where each contact's run begins (rows ordered by contact): a boolean mask."""
        starts = np.ones(len(self.contacts), dtype=bool)
        starts[1:] = self.contacts[1:] != self.contacts[:-1]
        return starts

    def paths(self) -> list[tuple[Touchpoint, ...]]:
        """Each contact's touchpoints (rows ordered by contact) as one tuple."""
        bounds = [*np.flatnonzero(self.path_starts()).tolist(), len(self)]
        every = self.touchpoints(0, len(self))
        return [tuple(every[a:b]) for a, b in pairwise(bounds)]

    def transitions(self, group_by: str) -> Iterator[tuple[str | None, str | None, int]]:
        """First-order transitions of the paths (rows ordered by contact, each contact one
        path) as ``(from, to, count)``: ``from`` None is START, ``to`` None is NULL (these
        paths never convert). Counted with array operations, not per touchpoint."""
        if not len(self):
            return
        codes = self.channels if group_by == GROUP_BY_CHANNEL else self.campaigns
        names = self.channel_names if group_by == GROUP_BY_CHANNEL else self.campaign_names
        start_code = len(names)  # a code no name has
        starts = self.path_starts()
        previous = np.empty_like(codes)
        previous[0] = start_code
        previous[1:] = codes[:-1]
        previous[starts] = start_code
        width = start_code + 1
        pairs, counts = np.unique(previous * width + codes, return_counts=True)
        for pair, count in zip(pairs.tolist(), counts.tolist(), strict=True):
            source, target = divmod(pair, width)
            yield (None if source == start_code else names[source]), names[target], count
        ends = np.empty_like(starts)
        ends[:-1] = starts[1:]
        ends[-1] = True
        lasts, counts = np.unique(codes[ends], return_counts=True)
        for last, count in zip(lasts.tolist(), counts.tolist(), strict=True):
            yield names[last], None, count


def _present(codes: np.ndarray, names: tuple[str, ...]) -> tuple[str, ...]:
    """The names the codes use, sorted (``names`` is sorted)."""
    used = np.bincount(codes, minlength=len(names)) if len(codes) else np.zeros(len(names))
    return tuple(name for name, count in zip(names, used.tolist(), strict=True) if count)


def contact_time_order(contacts: np.ndarray, times: np.ndarray, ids: np.ndarray) -> np.ndarray:
    """The permutation ordering rows by (contact, time, id): ``np.lexsort((ids, times,
    contacts))``, in about half its time for a million rows.

    (time, id) is ranked once (a two-key lexsort), then one stable argsort of ``contact *
    n + rank`` replaces the third key's pass; the rank is < n, so the composite compares
    exactly like the pair. Falls back to the plain lexsort when the composite could
    overflow int64 (negative or huge contact ids)."""
    n = len(contacts)
    if n == 0:
        return np.zeros(0, dtype=np.intp)
    lowest, highest = int(contacts.min()), int(contacts.max())
    if lowest < 0 or (highest + 1) * n >= 2**63:
        return np.lexsort((ids, times, contacts))
    by_time = np.lexsort((ids, times))
    rank = np.empty(n, dtype=np.int64)
    rank[by_time] = np.arange(n, dtype=np.int64)
    return np.argsort(contacts.astype(np.int64) * n + rank, kind="stable")


def build_journeys_from_columns(
    touchpoints: TouchpointColumns,
    conversions: Iterable[Conversion],
    *,
    lookback: timedelta = DEFAULT_LOOKBACK,
    window: tuple[datetime, datetime] | None = None,
    group_keys: dict[str, tuple[str, ...]] | None = None,
) -> Journeys:
    """:func:`build_journeys` over :class:`TouchpointColumns`: the same journeys (equal
    results for every model), with the sorting and the non-converting paths done by array
    operations. Conversions are matched to touchpoints by integer contact id (a conversion
    whose contact is not an int has no touchpoints).

    ``group_keys`` (per grouping, the sorted keys the reports list, zero rows included)
    marks ``touchpoints`` as the converting contacts' only: the keys are then those of every
    touchpoint of the analysis, which the caller found, and the journeys serve every model
    but markov (``Journeys.converting_only``). ``None``: the keys of ``touchpoints``."""
    if lookback < timedelta(0):
        raise AttributionError("lookback must not be negative")
    with paused_gc():
        journeys = _build_journeys_from_columns(touchpoints, conversions, lookback, window)
    if group_keys is not None:
        journeys.group_keys = group_keys
        journeys.converting_only = True
        journeys.null_columns = None
    return journeys


def _build_journeys_from_columns(
    columns: TouchpointColumns,
    conversions: Iterable[Conversion],
    lookback: timedelta,
    window: tuple[datetime, datetime] | None,
) -> Journeys:
    # (contact, occurred_at, id): each contact's touchpoints in the docs' eligible order.
    ordered = columns.taken(contact_time_order(columns.contacts, columns.times, columns.ids))
    group_keys = {
        GROUP_BY_CHANNEL: _present(columns.channels, columns.channel_names),
        GROUP_BY_CAMPAIGN: _present(columns.campaigns, columns.campaign_names),
    }
    conversions_by_contact: dict[Hashable, list[Conversion]] = defaultdict(list)
    for conversion in conversions:
        conversions_by_contact[conversion.contact_id].append(conversion)
    int_contacts = [c for c in conversions_by_contact if type(c) is int]
    converting = np.fromiter(int_contacts, dtype=np.int64, count=len(int_contacts))
    lows = np.searchsorted(ordered.contacts, converting, side="left").tolist()
    highs = np.searchsorted(ordered.contacts, converting, side="right").tolist()
    blocks = dict(zip(int_contacts, zip(lows, highs, strict=True), strict=True))

    lookback_us = lookback // MICROSECOND
    attributed: list[tuple[Conversion, int, tuple[Touchpoint, ...]]] = []
    unattributed: list[Conversion] = []
    for contact_id, contact_conversions in conversions_by_contact.items():
        low, high = blocks.get(contact_id, (0, 0))  # type: ignore[call-overload]
        if low == high:
            unattributed.extend(contact_conversions)
            continue
        times = ordered.times[low:high].tolist()
        slices = []
        for conversion in contact_conversions:
            end = to_micros(conversion.converted_at)
            slices.append((bisect_left(times, end - lookback_us), bisect_right(times, end)))
        # Objects only for the rows some conversion credits (a contact's history is longer
        # than its lookbacks).
        eligible_slices = [(first, last) for first, last in slices if first < last]
        if eligible_slices:
            offset = min(first for first, _last in eligible_slices)
            stop = max(last for _first, last in eligible_slices)
            objects = ordered.touchpoints(low + offset, low + stop)
        for conversion, (first, last) in zip(contact_conversions, slices, strict=True):
            if first < last:
                eligible = tuple(objects[first - offset : last - offset])
                attributed.append((conversion, to_cents(conversion.amount), eligible))
            else:
                unattributed.append(conversion)

    # Not a converting contact's row: outside every [low, high) block (a running count).
    edges = np.zeros(len(ordered) + 1, dtype=np.int64)
    np.add.at(edges, np.asarray(lows, dtype=np.int64), 1)
    np.add.at(edges, np.asarray(highs, dtype=np.int64), -1)
    keep = np.cumsum(edges[:-1]) == 0
    if window is not None:
        start, stop = to_micros(window[0]), to_micros(window[1])
        keep &= (ordered.times >= start) & (ordered.times <= stop)
    return Journeys(
        lookback=lookback,
        attributed=attributed,
        unattributed=unattributed,
        group_keys=group_keys,
        window=window,
        null_columns=ordered.taken(keep),
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


def _time_decay_shared(journeys: Journeys, half_life: timedelta) -> _CreditRule:
    """:func:`_time_decay_factory` with each journey's weights computed once for both
    groupings (they depend on the times only); the rule is called in ``attributed`` order."""
    weights = iter(journeys.decay_weights(half_life))

    def _time_decay(
        keys: Sequence[str], _conversion: Conversion, _touchpoints: Sequence[Touchpoint]
    ) -> _Credits:
        journey_weights, total = next(weights)
        return _sum_by_key(keys, journey_weights), total

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
    cents: dict[str, int] = dict.fromkeys(journeys.group_keys[group_by], 0)
    if exact_conversions:
        vectorised = _exact_vectorised(journeys, model=model, group_by=group_by)
        if vectorised is not None:
            counted, allocated, total_cents = vectorised
            for key, part in allocated.items():
                cents[key] += part
            return _result(journeys, model, group_by, counted, cents, total_cents)
    # Exact models: Σ numerators per (key, denominator); few distinct denominators.
    exact: dict[tuple[str, int], int] = defaultdict(int)
    # time_decay: Σ round(share * 10^18) per key.
    scaled: dict[str, int] = defaultdict(int)
    # Every rule but time_decay depends on the journey's keys only: computed once per
    # distinct key sequence, and its conversions counted per sequence.
    memo: dict[tuple[str, ...], _Credits] = {}
    journeys_per_keys: dict[tuple[str, ...], int] = defaultdict(int)
    total_cents = 0
    for (conversion, amount_cents, touchpoints), keys in zip(
        journeys.attributed, journeys.keys(group_by), strict=True
    ):
        if exact_conversions:
            credits = memo.get(keys)
            if credits is None:
                credits = memo[keys] = credit(keys, conversion, touchpoints)
            journeys_per_keys[keys] += 1
        else:
            credits = credit(keys, conversion, touchpoints)
        numerators, denominator = credits
        total_cents += amount_cents
        if len(numerators) == 1:  # one group takes the whole amount
            for key in numerators:
                cents[key] += amount_cents
        else:
            for key, part in allocate_cents_scaled(amount_cents, numerators, denominator).items():
                cents[key] += part
        if not exact_conversions:
            for key, numerator in numerators.items():
                scaled[key] += (2 * numerator * _CONVERSIONS_SCALE + denominator) // (
                    2 * denominator
                )
    for keys, count in journeys_per_keys.items():
        numerators, denominator = memo[keys]
        for key, numerator in numerators.items():
            exact[key, denominator] += numerator * count
    conversions: dict[str, Fraction] = defaultdict(Fraction)
    if exact_conversions:
        for (key, denominator), numerator in exact.items():
            conversions[key] += Fraction(numerator, denominator)
    else:
        for key, numerator in scaled.items():
            conversions[key] = Fraction(numerator, _CONVERSIONS_SCALE)
    return _result(journeys, model, group_by, conversions, cents, total_cents)


#: Exact models allocate with array operations (False: conversion by conversion, as the
#: tests compare); products amount x numerator must stay inside int64.
_VECTORISE = True
_VECTOR_MAX_PRODUCT = 1 << 62


@dataclass(frozen=True, eq=False)
class _Positions:
    """The attributed journeys of one grouping flattened: one entry per eligible touchpoint
    (``row`` = its conversion, ``position`` in the journey, ``code`` = index of its group
    key in ``names``), with each conversion's length and amount in cents."""

    names: tuple[str, ...]
    row: np.ndarray
    position: np.ndarray
    code: np.ndarray
    length: np.ndarray
    amount: np.ndarray


def _positions(journeys: Journeys, group_by: str) -> _Positions | None:
    names = journeys.group_keys[group_by]
    code = {name: index for index, name in enumerate(names)}
    keyed = journeys.keys(group_by)
    amounts = [cents for _c, cents, _t in journeys.attributed]
    if not keyed or max(abs(a) for a in amounts) * 5 * max(map(len, keyed)) >= _VECTOR_MAX_PRODUCT:
        return None
    length = np.fromiter(map(len, keyed), dtype=np.int64, count=len(keyed))
    row = np.repeat(np.arange(len(keyed), dtype=np.int64), length)
    starts = np.cumsum(length) - length
    position = np.arange(len(row), dtype=np.int64) - np.repeat(starts, length)
    codes = np.fromiter(
        (code[key] for keys in keyed for key in keys), dtype=np.int64, count=len(row)
    )
    return _Positions(names, row, position, codes, length, np.array(amounts, dtype=np.int64))


def _position_numerators(model: str, flat: _Positions) -> tuple[np.ndarray, np.ndarray] | None:
    """Each touchpoint's numerator and each conversion's denominator under an exact rule
    (the rules above, per touchpoint; shapley's distinct groups are handled by the caller).
    None for a model without an exact per-position rule."""
    n = flat.length[flat.row]
    ones = np.ones(len(flat.row), dtype=np.int64)
    if model == FIRST_TOUCH:
        return (flat.position == 0).astype(np.int64), np.ones_like(flat.length)
    if model == LAST_TOUCH:
        return (flat.position == n - 1).astype(np.int64), np.ones_like(flat.length)
    if model in (LINEAR, SHAPLEY):
        return ones, flat.length.copy()
    if model == POSITION_BASED:
        # n = 1: 1/1; n = 2: 1/2 each; n >= 3: 2(n-2) at both ends, 1 between, over 5(n-2).
        end = (flat.position == 0) | (flat.position == n - 1)
        numerators = np.where((n >= 3) & end, 2 * (n - 2), 1)
        denominators = np.where(flat.length >= 3, 5 * (flat.length - 2), flat.length)
        return numerators.astype(np.int64), denominators.astype(np.int64)
    return None


def _exact_vectorised(
    journeys: Journeys, *, model: str, group_by: str
) -> tuple[dict[str, Fraction], dict[str, int], int] | None:
    """An exact model's conversions and cents with array operations over every conversion
    at once: per (conversion, group) numerator sums in key order, then the largest-remainder
    allocation of :func:`allocate_cents_scaled` (floor parts, the leftover cents to the
    largest remainders, ties to the alphabetically first key; a negative amount as the
    negation of its absolute value). None when not applicable (time_decay, an amount too
    large for int64 products): the caller then allocates conversion by conversion."""
    if not _VECTORISE or not journeys.attributed:
        return None
    flat = journeys.positions(group_by)
    rule = None if flat is None else _position_numerators(model, flat)
    if flat is None or rule is None:
        return None
    numerators, denominators = rule
    width = len(flat.names)
    # Σ numerator per (conversion, group), ordered by conversion then key.
    pairs, inverse = np.unique(flat.row * width + flat.code, return_inverse=True)
    sums = np.zeros(len(pairs), dtype=np.int64)
    np.add.at(sums, inverse.reshape(-1), numerators)
    rows, codes = np.divmod(pairs, width)
    if model == SHAPLEY:  # 1 / m to each of the m distinct groups
        sums = np.ones_like(sums)
        denominators = np.bincount(rows, minlength=len(flat.length)).astype(np.int64)
    keep = sums > 0  # first / last touch: the other touchpoints' groups get nothing
    rows, codes, sums = rows[keep], codes[keep], sums[keep]
    signed = flat.amount
    absolute = np.abs(signed)
    parts, remainders = np.divmod(absolute[rows] * sums, denominators[rows])
    given = np.zeros(len(signed), dtype=np.int64)
    np.add.at(given, rows, parts)
    leftover = absolute - given
    # Rank within each conversion by (largest remainder, then key): the leftover cents go
    # to the first ``leftover`` ranks.
    order = np.lexsort((codes, -remainders, rows))
    ordered_rows = rows[order]
    rank = np.arange(len(order)) - np.searchsorted(ordered_rows, ordered_rows, side="left")
    parts[order] += rank < leftover[ordered_rows]
    parts *= np.sign(signed)[rows]
    totals = np.zeros(width, dtype=np.int64)
    np.add.at(totals, codes, parts)
    allocated = {flat.names[c]: total for c, total in enumerate(totals.tolist()) if total}
    # Attributed conversions: Σ numerator per (group, denominator), exact fractions.
    # (group, denominator) as one int64 key (both small): one np.unique instead of a Python
    # loop over every (conversion, group) pair.
    row_denominators = denominators[rows]
    span = int(row_denominators.max()) + 1 if len(rows) else 1
    keys, inverse = np.unique(codes * span + row_denominators, return_inverse=True)
    numerator_sums = np.zeros(len(keys), dtype=np.int64)
    np.add.at(numerator_sums, inverse.reshape(-1), sums)
    conversions: dict[str, Fraction] = defaultdict(Fraction)
    for key, numerator in zip(keys.tolist(), numerator_sums.tolist(), strict=True):
        code, denominator = divmod(key, span)
        conversions[flat.names[code]] += Fraction(numerator, denominator)
    return conversions, allocated, int(signed.sum())


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
        unattributed_revenue=from_cents(journeys.unattributed_cents),
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
    transitions: Iterable[tuple[str | None, str | None, int]] = (),
) -> MarkovChain:
    """:func:`markov_chain` over distinct paths given with their counts.

    Each item is ``(path, conversions, nulls)``: the path was observed ``conversions`` times
    ending in CONVERSION and ``nulls`` times ending in NULL (the usual path-table input of
    Markov attribution tools; identical to listing every path once per observation).
    ``transitions`` adds transitions counted elsewhere, ``(from, to, count)`` with ``from``
    None for START and ``to`` None for NULL (:meth:`TouchpointColumns.transitions`).
    """
    width = 1 << 32  # pair (i, j) as i * width + j: cheap integer dictionary keys
    conversion_code, null_code = width - 1, width - 2
    index: dict[str, int] = {}
    pair_counts: dict[int, int] = defaultdict(int)
    for source_state, target_state, count in transitions:
        source_code = 0
        if source_state is not None:
            source_code = index.get(source_state) or index.setdefault(source_state, len(index) + 1)
        target_code = null_code
        if target_state is not None:
            target_code = index.get(target_state) or index.setdefault(target_state, len(index) + 1)
        pair_counts[source_code * width + target_code] += count
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
    """Gauss-Jordan inverse in double precision (no pivoting: diagonally dominant).

    Row operations on a numpy array, each element computed as ``a - factor * b`` with the
    same two roundings as the scalar loop it replaces, so the result is bit-identical to it
    (a campaign-level chain of 200 states took a second in pure Python)."""
    size = len(matrix)
    rows = np.array(matrix, dtype=np.float64).reshape(size, size)
    for k in range(size):
        pivot = rows[k, k]
        rows[k, k] = 1.0
        rows[k] *= 1.0 / pivot
        factors = rows[:, k].copy()
        factors[k] = 0.0
        touched = np.flatnonzero(factors)
        if len(touched):
            rows[touched, k] = 0.0
            rows[touched] -= factors[touched, None] * rows[k]
    return rows.tolist()


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
    if journeys.converting_only:
        raise AttributionError(
            "markov needs the non-converting journeys: read every contact's touchpoints"
        )
    get_key = attrgetter(group_by)
    converting = journeys.keys(group_by)
    if journeys.null_columns is not None:
        chain = markov_chain_weighted(
            ((path, 1, 0) for path in converting),
            transitions=journeys.null_columns.transitions(group_by),
        )
    else:
        chain = markov_chain(converting, (map(get_key, path) for path in journeys.non_converting))
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
        credit = _time_decay_shared(journeys, half_life)
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
