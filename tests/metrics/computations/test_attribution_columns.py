"""Journeys built from columns (the database read at scale) give exactly the results of
journeys built from Touchpoint objects, for every model at both groupings."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from metrics.computations import attribution
from metrics.computations.attribution import (
    GROUP_BYS,
    MODELS,
    Conversion,
    Touchpoint,
    TouchpointColumns,
    attribute,
    build_journeys,
    build_journeys_from_columns,
    markov_chain,
    markov_chain_weighted,
)

T0 = datetime(2026, 1, 1, tzinfo=UTC)
LOOKBACK = timedelta(days=10)
WINDOW = (T0 + timedelta(days=5), T0 + timedelta(days=25) - timedelta(microseconds=1))

touchpoint_rows = st.lists(
    st.tuples(
        st.integers(1, 6),  # contact
        st.integers(0, 30 * 24 * 3600 * 1_000_000),  # microseconds after T0
        st.sampled_from(["ads", "email", "seo", "(no channel)"]),
        st.sampled_from(["spring", "summer", "(no campaign)"]),
    ),
    max_size=40,
)
conversion_rows = st.lists(
    st.tuples(
        st.one_of(st.integers(1, 8), st.just(None)),  # None: a deal without a contact
        st.integers(0, 30 * 24 * 3600 * 1_000_000),
        st.integers(-(10**7), 10**7),  # cents (negative: a refund)
    ),
    max_size=8,
)


def _inputs(touchpoint_rows, conversion_rows):
    touchpoints = [
        Touchpoint(pk, contact, T0 + timedelta(microseconds=us), channel, campaign)
        for pk, (contact, us, channel, campaign) in enumerate(touchpoint_rows, start=1)
    ]
    conversions = [
        Conversion(
            f"d{pk}",
            contact if contact is not None else ("unlinked-deal", pk),
            T0 + timedelta(microseconds=us),
            Decimal(cents).scaleb(-2),
        )
        for pk, (contact, us, cents) in enumerate(conversion_rows, start=1)
    ]
    return touchpoints, conversions


@settings(max_examples=60, deadline=None)
@given(touchpoint_rows, conversion_rows, st.booleans())
def test_columns_give_the_same_results_for_every_model(tp_rows, conv_rows, windowed):
    touchpoints, conversions = _inputs(tp_rows, conv_rows)
    window = WINDOW if windowed else None
    objects = build_journeys(touchpoints, conversions, lookback=LOOKBACK, window=window)
    columns = build_journeys_from_columns(
        TouchpointColumns.from_touchpoints(touchpoints),
        conversions,
        lookback=LOOKBACK,
        window=window,
    )
    assert columns.group_keys == objects.group_keys
    assert [(c, cents, tps) for c, cents, tps in columns.attributed] == [
        (c, cents, tps) for c, cents, tps in objects.attributed
    ]
    assert columns.unattributed == objects.unattributed
    # The same paths; their order (by contact id here, by first appearance there) is free.
    by_contact = lambda paths: sorted(paths, key=lambda path: path[0].contact_id)  # noqa: E731
    assert by_contact(columns.non_converting) == by_contact(objects.non_converting)
    for group_by in GROUP_BYS:
        for model in MODELS:
            assert attribute(columns, model=model, group_by=group_by) == attribute(
                objects, model=model, group_by=group_by
            ), (model, group_by)


def test_null_transitions_counted_from_columns_equal_the_path_count():
    """START→ads→email→NULL and START→ads→NULL (contacts 1 and 2), plus one converting path
    START→email→CONVERSION: the same chain either way."""
    touchpoints = [
        Touchpoint(1, 1, T0, "ads", "x"),
        Touchpoint(2, 1, T0 + timedelta(hours=1), "email", "x"),
        Touchpoint(3, 2, T0, "ads", "y"),
    ]
    columns = TouchpointColumns.from_touchpoints(touchpoints)
    assert sorted(columns.transitions("channel"), key=str) == sorted(
        [(None, "ads", 2), ("ads", "email", 1), ("email", None, 1), ("ads", None, 1)], key=str
    )
    chain = markov_chain_weighted([(["email"], 1, 0)], transitions=columns.transitions("channel"))
    assert chain == markov_chain([["email"]], [["ads", "email"], ["ads"]])


@settings(max_examples=60, deadline=None)
@given(touchpoint_rows, conversion_rows, st.sampled_from(GROUP_BYS))
def test_vectorised_allocation_equals_the_allocation_per_conversion(tp_rows, conv_rows, group_by):
    """The exact models allocate every conversion at once in arrays; forcing the scalar path
    (allocate_cents_scaled per conversion) must give the very same result."""
    touchpoints, conversions = _inputs(tp_rows, conv_rows)
    journeys = build_journeys(touchpoints, conversions, lookback=LOOKBACK)
    vectorised = {m: attribute(journeys, model=m, group_by=group_by) for m in MODELS}
    attribution._VECTORISE = False
    try:
        scalar = {m: attribute(journeys, model=m, group_by=group_by) for m in MODELS}
    finally:
        attribution._VECTORISE = True
    assert vectorised == scalar


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(0, 4), st.integers(0, 3), st.integers(-5, 50)),
        max_size=40,
        unique_by=lambda row: row[2],
    ),
    st.sampled_from([0, 2**62]),
)
def test_contact_time_order_equals_the_three_key_lexsort(rows, contact_offset):
    # Few distinct contacts and times, ids in any order: ties on (contact, time) are common,
    # so the id tiebreak is exercised; the offset forces the lexsort fallback (overflow).
    contacts = np.array([c + contact_offset for c, _t, _i in rows], dtype=np.int64)
    times = np.array([t for _c, t, _i in rows], dtype=np.int64)
    ids = np.array([i for _c, _t, i in rows], dtype=np.int64)
    expected = np.lexsort((ids, times, contacts))
    assert np.array_equal(attribution.contact_time_order(contacts, times, ids), expected)
