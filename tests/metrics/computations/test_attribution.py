"""Heuristic attribution models, eligibility and the report rows (docs/metrics.md, "Revenue
attribution").

Every expected number is worked by hand in the comments.
"""

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from metrics.computations.attribution import (
    MODELS,
    UNATTRIBUTED_KEY,
    AttributionError,
    Conversion,
    Touchpoint,
    attribute,
    attribute_all,
    build_journeys,
    position_based_weights,
    run_attribution,
)

T = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
DAY = timedelta(days=1)


def tp(identifier, when, channel, contact="c1", campaign=""):
    return Touchpoint(identifier, contact, when, channel, campaign)


def won(amount, when=T, contact="c1", deal="d1"):
    return Conversion(deal, contact, when, Decimal(amount))


def rows(result):
    return {row.key: (row.conversions, row.revenue) for row in result.rows()}


def run(touchpoints, conversions, model, **kwargs):
    return run_attribution(touchpoints, conversions, model=model, **kwargs)


def test_model_identifiers():
    assert MODELS == (
        "first_touch",
        "last_touch",
        "linear",
        "position_based",
        "time_decay",
        "markov",
        "shapley",
    )


@pytest.mark.parametrize("model", MODELS)
def test_one_touch_journey_gets_everything_in_every_model(model):
    result = run([tp(1, T - DAY, "email")], [won("99.99")], model)
    assert rows(result) == {"email": (Fraction(1), Decimal("99.99"))}
    assert result.attributed_revenue == Decimal("99.99")
    assert result.unattributed_count == 0


# Two-touch journey: email two days before, ads one day before; amount 100.01 (10001 cents).
TWO = [tp(1, T - 2 * DAY, "email"), tp(2, T - DAY, "ads")]


def test_two_touch_first_and_last_touch():
    assert rows(run(TWO, [won("100.01")], "first_touch")) == {
        "ads": (0, Decimal("0.00")),
        "email": (1, Decimal("100.01")),
    }
    assert rows(run(TWO, [won("100.01")], "last_touch")) == {
        "ads": (1, Decimal("100.01")),
        "email": (0, Decimal("0.00")),
    }


@pytest.mark.parametrize("model", ["linear", "position_based"])
def test_two_touch_linear_and_position_based_split_in_half(model):
    # 10001 cents / 2 = 5000.5 each → floors 5000, 1 cent left, equal remainders → "ads".
    assert rows(run(TWO, [won("100.01")], model)) == {
        "ads": (Fraction(1, 2), Decimal("50.01")),
        "email": (Fraction(1, 2), Decimal("50.00")),
    }


def test_position_based_weights_depend_on_n_only():
    assert position_based_weights(1) == ((1,), 1)
    assert position_based_weights(2) == ((1, 1), 2)
    # n=3: 0.4, 0.2, 0.4 = 2/5, 1/5, 2/5.
    assert position_based_weights(3) == ((2, 1, 2), 5)
    # n=4: 0.4, 0.1, 0.1, 0.4 = 4/10, 1/10, 1/10, 4/10.
    assert position_based_weights(4) == ((4, 1, 1, 4), 10)


def test_position_based_three_touches_040_020_040():
    journey = [tp(1, T - 3 * DAY, "a"), tp(2, T - 2 * DAY, "b"), tp(3, T - DAY, "c")]
    # 100.00: a 40.00, b 20.00, c 40.00.
    assert rows(run(journey, [won("100.00")], "position_based")) == {
        "a": (Fraction(2, 5), Decimal("40.00")),
        "b": (Fraction(1, 5), Decimal("20.00")),
        "c": (Fraction(2, 5), Decimal("40.00")),
    }


def test_position_based_five_touches_middle_share_and_cents():
    journey = [tp(i, T - (6 - i) * DAY, name) for i, name in enumerate("abcde", start=1)]
    # a, e: 0.4 → 4000 cents; b, c, d: 0.2/3 → 666.67 → floor 666 each, remainders 2/3 each.
    # 8000 + 1998 = 9998, 2 cents left → b and c (equal remainders, alphabetical).
    assert rows(run(journey, [won("100.00")], "position_based")) == {
        "a": (Fraction(2, 5), Decimal("40.00")),
        "b": (Fraction(1, 15), Decimal("6.67")),
        "c": (Fraction(1, 15), Decimal("6.67")),
        "d": (Fraction(1, 15), Decimal("6.66")),
        "e": (Fraction(2, 5), Decimal("40.00")),
    }


def test_position_based_repeated_channel_sums_its_credits():
    journey = [
        tp(1, T - 4 * DAY, "email"),
        tp(2, T - 3 * DAY, "ads"),
        tp(3, T - 2 * DAY, "ads"),
        tp(4, T - DAY, "email"),
    ]
    # email 0.4 + 0.4, ads 0.1 + 0.1.
    assert rows(run(journey, [won("10.00")], "position_based")) == {
        "ads": (Fraction(1, 5), Decimal("2.00")),
        "email": (Fraction(4, 5), Decimal("8.00")),
    }


def test_linear_three_touches_thirds():
    journey = [tp(1, T - 3 * DAY, "a"), tp(2, T - 2 * DAY, "b"), tp(3, T - DAY, "c")]
    # 10000 / 3 = 3333.33 each; 1 cent left → "a".
    assert rows(run(journey, [won("100.00")], "linear")) == {
        "a": (Fraction(1, 3), Decimal("33.34")),
        "b": (Fraction(1, 3), Decimal("33.33")),
        "c": (Fraction(1, 3), Decimal("33.33")),
    }


def test_time_decay_whole_half_lives_are_exact():
    # Δ email = 8 days, Δ ads = 1 day, half-life 7 days: w_email / w_ads = 2^(-7/7) = 1/2,
    # so ads 2/3 and email 1/3. 10000 cents: 6666.67 / 3333.33 → 1 cent left → ads (0.67).
    journey = [tp(1, T - 8 * DAY, "email"), tp(2, T - DAY, "ads")]
    result = run(journey, [won("100.00")], "time_decay")
    assert rows(result)["ads"][1] == Decimal("66.67")
    assert rows(result)["email"][1] == Decimal("33.33")
    assert abs(rows(result)["ads"][0] - Fraction(2, 3)) < Fraction(1, 10**17)
    assert abs(rows(result)["email"][0] - Fraction(1, 3)) < Fraction(1, 10**17)


def test_time_decay_hand_computed_weights():
    # Half-life 7 days; Δ = 0 and 3.5 days: w = 1 and 2^-0.5 = 0.7071067811865476.
    # shares 1 / (1 + 2^-0.5) = 2 - √2 = 0.5857864376269049 and √2 - 1 = 0.4142135623730951.
    # 100000 cents: 58578.64 and 41421.36 → floors 58578 + 41421, 1 cent left → larger
    # remainder (0.64) → "seo": 585.79 and 414.21.
    journey = [tp(1, T - timedelta(days=3.5), "email"), tp(2, T, "seo")]
    result = run(journey, [won("1000.00")], "time_decay")
    assert rows(result)["seo"][1] == Decimal("585.79")
    assert rows(result)["email"][1] == Decimal("414.21")
    assert abs(float(rows(result)["seo"][0]) - 0.5857864376269049) < 1e-15
    assert abs(float(rows(result)["email"][0]) - 0.4142135623730951) < 1e-15


def test_time_decay_half_life_parameter():
    # Half-life 1 day, Δ 2 days and 0: weights 1/4 and 1 → 1/5 and 4/5.
    journey = [tp(1, T - 2 * DAY, "email"), tp(2, T, "seo")]
    result = run(journey, [won("10.00")], "time_decay", half_life=DAY)
    assert rows(result)["email"][1] == Decimal("2.00")
    assert rows(result)["seo"][1] == Decimal("8.00")


def test_ties_in_time_are_ordered_by_touchpoint_id():
    # Same instant; id 9 comes before id 10 whatever the input order.
    journey = [tp(10, T - DAY, "ads"), tp(9, T - DAY, "email"), tp(11, T - 2 * DAY, "seo")]
    assert rows(run(journey[:2], [won("1.00")], "first_touch"))["email"][0] == 1
    assert rows(run(journey[:2], [won("1.00")], "last_touch"))["ads"][0] == 1
    # seo (earliest) first, then email (id 9), then ads (id 10).
    assert rows(run(journey, [won("1.00")], "last_touch"))["ads"][0] == 1
    assert rows(run(journey, [won("1.00")], "first_touch"))["seo"][0] == 1


def test_touchpoints_after_the_conversion_are_excluded_and_at_it_included():
    journey = [tp(1, T, "email"), tp(2, T + timedelta(seconds=1), "ads")]
    assert rows(run(journey, [won("5.00")], "last_touch")) == {
        "ads": (0, Decimal("0.00")),
        "email": (1, Decimal("5.00")),
    }


def test_lookback_boundary_included_and_one_second_beyond_excluded():
    edge = [tp(1, T - 90 * DAY, "email"), tp(2, T - DAY, "ads")]
    assert rows(run(edge, [won("2.00")], "first_touch"))["email"] == (1, Decimal("2.00"))
    beyond = [tp(1, T - 90 * DAY - timedelta(seconds=1), "email"), tp(2, T - DAY, "ads")]
    assert rows(run(beyond, [won("2.00")], "first_touch"))["ads"] == (1, Decimal("2.00"))
    only_beyond = [tp(1, T - 90 * DAY - timedelta(seconds=1), "email")]
    result = run(only_beyond, [won("2.00")], "first_touch")
    assert result.unattributed_count == 1
    assert rows(result)[UNATTRIBUTED_KEY] == (1, Decimal("2.00"))


def test_custom_lookback():
    journey = [tp(1, T - 10 * DAY, "email"), tp(2, T - DAY, "ads")]
    short = run(journey, [won("1.00")], "first_touch", lookback=5 * DAY)
    assert rows(short)["ads"][0] == 1
    exact = run(journey, [won("1.00")], "first_touch", lookback=10 * DAY)
    assert rows(exact)["email"][0] == 1


def test_each_conversion_looks_back_independently():
    journey = [tp(1, T - 10 * DAY, "email"), tp(2, T + DAY, "ads")]
    conversions = [won("10.00", deal="d1"), won("30.00", when=T + 2 * DAY, deal="d2")]
    # d1 sees email only; d2 sees email and ads (email is shared by both conversions).
    result = run(journey, conversions, "linear")
    assert rows(result) == {
        "ads": (Fraction(1, 2), Decimal("15.00")),
        "email": (Fraction(3, 2), Decimal("25.00")),
    }
    assert result.attributed_count == 2


def test_unattributed_row_is_reported_never_dropped():
    touchpoints = [tp(1, T - DAY, "email", contact="c1")]
    conversions = [
        won("10.00", contact="c1", deal="d1"),
        won("7.50", contact="nobody", deal="d2"),  # no touchpoints at all
        won("2.25", contact="c1", deal="d3", when=T - 2 * DAY),  # touchpoint is after it
    ]
    for model in MODELS:
        result = run(touchpoints, conversions, model)
        assert result.unattributed_count == 2
        assert result.unattributed_revenue == Decimal("9.75")
        assert result.attributed_revenue == Decimal("10.00")
        assert result.rows()[-1].key == UNATTRIBUTED_KEY
        assert rows(result)[UNATTRIBUTED_KEY] == (2, Decimal("9.75"))


def test_no_unattributed_row_when_everything_is_attributed():
    result = run([tp(1, T - DAY, "email")], [won("1.00")], "linear")
    assert UNATTRIBUTED_KEY not in rows(result)


def test_group_by_campaign():
    journey = [
        tp(1, T - 3 * DAY, "email", campaign="spring"),
        tp(2, T - 2 * DAY, "ads", campaign="spring"),
        tp(3, T - DAY, "ads", campaign="brand"),
    ]
    result = run(journey, [won("100.00")], "position_based", group_by="campaign")
    # spring 0.4 + 0.2, brand 0.4.
    assert rows(result) == {
        "brand": (Fraction(2, 5), Decimal("40.00")),
        "spring": (Fraction(3, 5), Decimal("60.00")),
    }


def test_every_channel_seen_gets_a_row():
    touchpoints = [tp(1, T - DAY, "email"), tp(2, T - DAY, "social", contact="c2")]
    result = run(touchpoints, [won("1.00")], "first_touch")
    assert rows(result)["social"] == (0, Decimal("0.00"))


def test_invalid_model_grouping_and_half_life():
    journeys = build_journeys([tp(1, T, "email")], [won("1.00")])
    with pytest.raises(AttributionError, match="unknown model"):
        attribute(journeys, model="u_shaped")
    with pytest.raises(AttributionError, match="unknown grouping"):
        attribute(journeys, model="linear", group_by="medium")
    with pytest.raises(AttributionError, match="half-life"):
        attribute(journeys, model="time_decay", half_life=timedelta(0))


def test_shapley_splits_per_distinct_channel():
    journey = [tp(1, T - 3 * DAY, "email"), tp(2, T - 2 * DAY, "email"), tp(3, T - DAY, "ads")]
    # Distinct channels {ads, email}: 1/2 each, however often each occurs.
    assert rows(run(journey, [won("3.00")], "shapley")) == {
        "ads": (Fraction(1, 2), Decimal("1.50")),
        "email": (Fraction(1, 2), Decimal("1.50")),
    }


journey_strategy = st.lists(
    st.tuples(
        st.integers(min_value=0, max_value=4),  # contact
        st.integers(min_value=-100, max_value=5),  # day offset
        st.sampled_from(["ads", "email", "seo", "social"]),
    ),
    max_size=25,
)
conversion_strategy = st.lists(
    st.tuples(
        st.integers(min_value=0, max_value=5),  # contact (5 has no touchpoints)
        st.integers(min_value=-20, max_value=5),
        st.integers(min_value=0, max_value=10**7),  # cents
    ),
    min_size=1,
    max_size=8,
)


@settings(max_examples=60, deadline=None)
@given(journey=journey_strategy, deals=conversion_strategy)
def test_revenue_rows_sum_to_attributed_revenue_to_the_cent(journey, deals):
    touchpoints = [
        Touchpoint(index, contact, T + offset * DAY, channel)
        for index, (contact, offset, channel) in enumerate(journey)
    ]
    conversions = [
        Conversion(f"d{index}", contact, T + offset * DAY, Decimal(cents) / 100)
        for index, (contact, offset, cents) in enumerate(deals)
    ]
    journeys = build_journeys(touchpoints, conversions)
    expected = sum(conversion.amount for conversion, _cents, _tps in journeys.attributed)
    for model in MODELS:
        result = attribute(journeys, model=model)
        revenue = sum((row.revenue for row in result.groups), Decimal(0))
        assert revenue == result.attributed_revenue == expected
        assert result.attributed_count + result.unattributed_count == len(conversions)
        assert result.attributed_revenue + result.unattributed_revenue == sum(
            conversion.amount for conversion in conversions
        )
        credited = sum((row.conversions for row in result.groups), Fraction(0))
        if model == "time_decay":
            assert abs(credited - result.attributed_count) < Fraction(1, 10**15)
        else:
            assert credited == result.attributed_count


def test_attribute_all_shares_one_preparation():
    journeys = build_journeys(TWO, [won("1.00")])
    results = attribute_all(journeys, models=["first_touch", "last_touch"])
    assert rows(results["first_touch"])["email"][0] == 1
    assert rows(results["last_touch"])["ads"][0] == 1
