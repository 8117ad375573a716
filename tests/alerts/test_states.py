"""The per-instance state machine (alerts.computations.states), by hand-worked sequences."""

from decimal import Decimal

import pytest

from alerts.computations.states import (
    ERROR,
    FIRING,
    NO_DATA,
    NORMAL,
    PENDING,
    RESOLVED,
    Step,
    Terms,
    breaches,
    recovery_problem,
    step,
)

D = Decimal
ABOVE_5 = Terms(comparator="gt", threshold=D("5"))


def run(terms: Terms, values, state=NORMAL, count=0, error_at=()):
    """The states after each value (None: no data; an index in error_at: a failed read)."""
    seen = []
    for index, value in enumerate(values):
        result = step(
            state=state,
            breaches_count=count,
            value=value,
            error=index in error_at,
            terms=terms,
        )
        state, count = result.state, result.breaches
        seen.append(state)
    return seen


@pytest.mark.parametrize(
    ("comparator", "value", "expected"),
    [
        ("gt", D("5"), False),
        ("gt", D("5.0001"), True),
        ("gte", D("5"), True),
        ("gte", D("4.9999"), False),
        ("lt", D("5"), False),
        ("lt", D("4.9999"), True),
        ("lte", D("5"), True),
        ("lte", D("5.0001"), False),
    ],
)
def test_comparators(comparator, value, expected):
    assert breaches(comparator, value, D("5")) is expected


def test_unknown_comparator_raises():
    with pytest.raises(ValueError, match="unknown comparator"):
        breaches("eq", D(1), D(1))


def test_breach_fires_at_once_with_one_pending_evaluation():
    assert step(state=NORMAL, breaches_count=0, value=D(6), error=False, terms=ABOVE_5) == Step(
        FIRING, 1, True
    )


def test_pending_then_firing_after_three_breaches_in_a_row():
    terms = Terms(comparator="gt", threshold=D(5), pending_evaluations=3)
    assert run(terms, [D(6), D(7), D(8), D(9)]) == [PENDING, PENDING, FIRING, FIRING]


def test_pending_back_to_normal_restarts_the_count():
    terms = Terms(comparator="gt", threshold=D(5), pending_evaluations=3)
    assert run(terms, [D(6), D(7), D(4), D(6), D(6), D(6)]) == [
        PENDING,
        PENDING,
        NORMAL,
        PENDING,
        PENDING,
        FIRING,
    ]


def test_breach_count_is_reported():
    terms = Terms(comparator="gt", threshold=D(5), pending_evaluations=3)
    first = step(state=NORMAL, breaches_count=0, value=D(6), error=False, terms=terms)
    second = step(state=PENDING, breaches_count=1, value=D(6), error=False, terms=terms)
    assert (first.breaches, second.breaches) == (1, 2)
    assert (first.changed, second.changed) == (True, False)


def test_firing_resolves_without_recovery_threshold_when_back_under():
    assert run(ABOVE_5, [D(6), D(5)]) == [FIRING, RESOLVED]


def test_hysteresis_holds_flapping_back():
    # Fires above 10, resolves only at 8 or below: 9.5 / 10.5 flapping stays firing.
    terms = Terms(comparator="gt", threshold=D(10), recovery_threshold=D(8))
    assert run(terms, [D(11), D("9.5"), D("10.5"), D(9), D(8), D(9)]) == [
        FIRING,
        FIRING,
        FIRING,
        FIRING,
        RESOLVED,
        RESOLVED,
    ]


def test_without_hysteresis_the_same_values_flap():
    terms = Terms(comparator="gt", threshold=D(10))
    assert run(terms, [D(11), D("9.5"), D("10.5"), D(9)]) == [FIRING, RESOLVED, FIRING, RESOLVED]


def test_hysteresis_below_comparator():
    terms = Terms(comparator="lt", threshold=D("99.9"), recovery_threshold=D("99.95"))
    assert run(terms, [D("99.8"), D("99.92"), D("99.95"), D("99.96")]) == [
        FIRING,
        FIRING,
        RESOLVED,
        RESOLVED,
    ]


def test_resolved_stays_resolved_until_the_next_breach():
    terms = Terms(comparator="gt", threshold=D(5), pending_evaluations=2)
    assert run(terms, [D(1), D(1), D(6), D(6)], state=RESOLVED) == [
        RESOLVED,
        RESOLVED,
        PENDING,
        FIRING,
    ]


def test_normal_stays_normal_without_transition():
    assert step(state=NORMAL, breaches_count=0, value=D(1), error=False, terms=ABOVE_5) == Step(
        NORMAL, 0, False
    )


@pytest.mark.parametrize("state", [NORMAL, PENDING, FIRING, RESOLVED, ERROR])
def test_no_data_shown_as_no_data(state):
    result = step(state=state, breaches_count=2, value=None, error=False, terms=ABOVE_5)
    assert result == Step(NO_DATA, 0, True)


def test_no_data_twice_is_not_a_second_transition():
    result = step(state=NO_DATA, breaches_count=0, value=None, error=False, terms=ABOVE_5)
    assert result == Step(NO_DATA, 0, False)


def test_no_data_then_value_back_to_normal_or_breach():
    assert run(ABOVE_5, [D(1)], state=NO_DATA) == [NORMAL]
    assert run(ABOVE_5, [D(6)], state=NO_DATA) == [FIRING]


def test_no_data_keep_changes_nothing():
    terms = Terms(comparator="gt", threshold=D(5), no_data_action="keep")
    result = step(state=PENDING, breaches_count=2, value=None, error=False, terms=terms)
    assert result == Step(PENDING, 2, False)


def test_no_data_as_normal_resolves_a_firing_alert():
    terms = Terms(comparator="gt", threshold=D(5), no_data_action="normal")
    assert run(terms, [D(6), None, None], state=NORMAL) == [FIRING, RESOLVED, RESOLVED]
    assert run(terms, [None], state=PENDING) == [NORMAL]


def test_no_data_as_breaching_goes_through_pending():
    terms = Terms(comparator="gt", threshold=D(5), pending_evaluations=2, no_data_action="firing")
    assert run(terms, [None, None]) == [PENDING, FIRING]


def test_error_shown_as_error_then_recovers():
    assert run(ABOVE_5, [D(6), D(6), D(1)], error_at=(1,)) == [FIRING, ERROR, NORMAL]


def test_error_keep_and_as_breaching():
    keep = Terms(comparator="gt", threshold=D(5), error_action="keep")
    assert run(keep, [D(6), None], error_at=(1,)) == [FIRING, FIRING]
    firing = Terms(comparator="gt", threshold=D(5), pending_evaluations=2, error_action="firing")
    assert run(firing, [None, None], error_at=(0, 1)) == [PENDING, FIRING]


def test_error_wins_over_a_value():
    result = step(state=NORMAL, breaches_count=0, value=D(1), error=True, terms=ABOVE_5)
    assert result == Step(ERROR, 0, True)


@pytest.mark.parametrize(
    ("comparator", "recovery", "ok"),
    [
        ("gt", D(4), True),
        ("gt", D(5), True),
        ("gt", D(6), False),
        ("gte", D(6), False),
        ("lt", D(6), True),
        ("lt", D(4), False),
        ("lte", D(4), False),
        ("lt", None, True),
    ],
)
def test_recovery_threshold_must_be_on_the_normal_side(comparator, recovery, ok):
    assert (recovery_problem(comparator, D(5), recovery) == "") is ok


def test_recovery_is_inclusive_for_at_or_above():
    # Fires at 3 or more, resolves once back at 1 or less (2 stays firing).
    terms = Terms(comparator="gte", threshold=D(3), recovery_threshold=D(1))
    assert run(terms, [D(3), D(2), D(1)]) == [FIRING, FIRING, RESOLVED]
