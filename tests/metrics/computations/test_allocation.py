"""Largest-remainder cent allocation (docs/metrics.md, "Cents allocation")."""

from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from metrics.computations.allocation import (
    allocate_amount,
    allocate_cents,
    allocate_cents_scaled,
)


def test_thirds_of_one_euro_leftover_goes_to_alphabetically_first():
    # 100 * 1/3 = 33.33… each: floor 33 each, 1 cent left, equal remainders → "a".
    shares = {"c": Fraction(1, 3), "a": Fraction(1, 3), "b": Fraction(1, 3)}
    assert allocate_cents(100, shares) == {"a": 34, "b": 33, "c": 33}


def test_two_leftover_cents_go_to_the_two_largest_remainders():
    # 10 cents at 0.45 / 0.35 / 0.2: 4.5, 3.5, 2 → floors 4, 3, 2, leftover 1.
    # Remainders 0.5 and 0.5 tie → alphabetical: "x" before "y".
    shares = {"y": Fraction(45, 100), "x": Fraction(35, 100), "z": Fraction(20, 100)}
    assert allocate_cents(10, shares) == {"y": 4, "x": 4, "z": 2}
    # 7 cents at 0.45 / 0.35 / 0.2: 3.15, 2.45, 1.4 → floors 3, 2, 1, leftover 1 → "x" (0.45).
    assert allocate_cents(7, shares) == {"y": 3, "x": 3, "z": 1}


def test_largest_remainder_beats_alphabetical_order():
    # 5 cents at 0.3 / 0.7: 1.5 and 3.5 → floors 1 and 3, leftover 1, remainders equal → "a".
    assert allocate_cents(5, {"b": Fraction(7, 10), "a": Fraction(3, 10)}) == {"a": 2, "b": 3}
    # 7 cents at 0.3 / 0.7: 2.1 and 4.9 → the leftover cent goes to "b" (0.9 > 0.1).
    assert allocate_cents(7, {"b": Fraction(7, 10), "a": Fraction(3, 10)}) == {"a": 2, "b": 5}


def test_zero_share_groups_get_nothing_and_keep_their_key():
    assert allocate_cents(101, {"a": Fraction(1, 2), "b": Fraction(1, 2), "c": 0}) == {
        "a": 51,
        "b": 50,
        "c": 0,
    }


def test_amount_and_negative_amount():
    assert allocate_amount(Decimal("100.01"), {"a": Fraction(1, 2), "b": Fraction(1, 2)}) == {
        "a": Decimal("50.01"),
        "b": Decimal("50.00"),
    }
    assert allocate_cents(-101, {"a": Fraction(1, 2), "b": Fraction(1, 2)}) == {"a": -51, "b": -50}


def test_shares_must_sum_to_one():
    with pytest.raises(ValueError, match="sum to 1"):
        allocate_cents(100, {"a": Fraction(1, 2), "b": Fraction(1, 3)})
    with pytest.raises(ValueError, match="sum to 1"):
        allocate_cents_scaled(100, {"a": 1, "b": 1}, 3)
    with pytest.raises(ValueError):
        allocate_cents(100, {})


keys = st.text(alphabet="abcdefgh", min_size=1, max_size=3)


@given(
    amount=st.integers(min_value=-(10**12), max_value=10**12),
    weights=st.dictionaries(keys, st.integers(min_value=0, max_value=10**6), min_size=1),
)
def test_parts_always_sum_to_the_whole(amount, weights):
    if sum(weights.values()) == 0:
        weights = {key: 1 for key in weights}
    total = sum(weights.values())
    shares = {key: Fraction(weight, total) for key, weight in weights.items()}
    parts = allocate_cents(amount, shares)
    assert sum(parts.values()) == amount
    assert set(parts) == set(shares)
    for key, share in shares.items():
        # Each part is the floor of its exact share or one cent more (in magnitude).
        exact = abs(amount) * share
        assert int(exact) <= abs(parts[key]) <= int(exact) + 1


@given(
    amount=st.integers(min_value=0, max_value=10**9),
    count=st.integers(min_value=2, max_value=9),
)
def test_equal_shares_leftover_goes_to_alphabetically_first_keys(amount, count):
    names = [f"k{index}" for index in range(count)]
    parts = allocate_cents(amount, {name: Fraction(1, count) for name in reversed(names)})
    base, leftover = divmod(amount, count)
    assert [parts[name] for name in names] == [base + 1] * leftover + [base] * (count - leftover)
