"""Markov removal-effect attribution, checked against a hand-solved chain (docs/metrics.md,
"Markov removal effect")."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from fractions import Fraction
from itertools import pairwise

from hypothesis import given, settings
from hypothesis import strategies as st

from metrics.computations.attribution import (
    Conversion,
    Touchpoint,
    attribute,
    build_journeys,
    markov_chain,
    markov_removal_effects,
)

T = datetime(2026, 3, 1, tzinfo=UTC)
DAY = timedelta(days=1)


def journeys():
    touchpoints = [
        # contact a converts: email → ads → seo
        Touchpoint(1, "a", T - 9 * DAY, "email"),
        Touchpoint(2, "a", T - 8 * DAY, "ads"),
        Touchpoint(3, "a", T - 7 * DAY, "seo"),
        # contact b converts: ads
        Touchpoint(4, "b", T - 9 * DAY, "ads"),
        # contact c never converts: email → seo
        Touchpoint(5, "c", T - 9 * DAY, "email"),
        Touchpoint(6, "c", T - 8 * DAY, "seo"),
    ]
    conversions = [
        Conversion("d1", "a", T, Decimal("100.00")),
        Conversion("d2", "b", T - 5 * DAY, Decimal("33.33")),
        Conversion("d3", "z", T, Decimal("5.00")),  # no touchpoints: unattributed, no path
    ]
    return build_journeys(touchpoints, conversions)


def test_markov_matches_the_hand_solved_chain_exactly():
    """Hand derivation.

    Paths: START→email→ads→seo→CONV, START→ads→CONV, START→email→seo→NULL.
    Transition probabilities (counts normalised per source):
      START: email 2/3, ads 1/3;  email: ads 1/2, seo 1/2;
      ads: seo 1/2, CONV 1/2;     seo: CONV 1/2, NULL 1/2.
    Conversion probability h from each state:
      h(seo) = 1/2; h(ads) = 1/2 + 1/2·1/2 = 3/4; h(email) = 1/2·3/4 + 1/2·1/2 = 5/8;
      P = h(START) = 2/3·5/8 + 1/3·3/4 = 5/12 + 3/12 = 2/3.
    Removing a state sends the transitions into it to NULL:
      -email: P = 1/3·3/4 = 1/4                      → RE = 1 - (1/4)/(2/3) = 5/8
      -ads:   h(email) = 1/2·1/2 = 1/4, P = 2/3·1/4 = 1/6 → RE = 1 - (1/6)/(2/3) = 3/4
      -seo:   h(ads) = 1/2, h(email) = 1/2·1/2 = 1/4,
              P = 2/3·1/4 + 1/3·1/2 = 1/3           → RE = 1 - (1/3)/(2/3) = 1/2
    ΣRE = 5/8 + 6/8 + 4/8 = 15/8 → shares email 1/3, ads 2/5, seo 4/15.
    2 attributed conversions → email 2/3, ads 4/5, seo 8/15.
    Revenue 133.33 = 13333 cents: email 4444.33, ads 5333.2, seo 3555.47 → floors
    4444 + 5333 + 3555 = 13332, 1 cent left → largest remainder seo (0.47): 44.44, 53.33, 35.56.
    """
    chain = markov_chain([["email", "ads", "seo"], ["ads"]], [["email", "seo"]])
    probability, effects = markov_removal_effects(chain, exact=True)
    assert probability == Fraction(2, 3)
    assert effects == {"ads": Fraction(3, 4), "email": Fraction(5, 8), "seo": Fraction(1, 2)}

    result = attribute(journeys(), model="markov")
    assert {row.key: (row.conversions, row.revenue) for row in result.rows()} == {
        "ads": (Fraction(4, 5), Decimal("53.33")),
        "email": (Fraction(2, 3), Decimal("44.44")),
        "seo": (Fraction(8, 15), Decimal("35.56")),
        "(unattributed)": (Fraction(1), Decimal("5.00")),
    }
    assert result.attributed_revenue == Decimal("133.33")


def test_double_precision_solver_agrees_with_the_exact_one():
    chain = markov_chain([["email", "ads", "seo"], ["ads"]], [["email", "seo"]])
    probability, effects = markov_removal_effects(chain, exact=False)
    assert abs(probability - 2 / 3) < 1e-12
    assert abs(effects["email"] - 5 / 8) < 1e-12
    assert abs(effects["ads"] - 3 / 4) < 1e-12
    assert abs(effects["seo"] - 1 / 2) < 1e-12
    result = attribute(journeys(), model="markov", markov_exact=False)
    assert [row.revenue for row in result.groups] == [
        Decimal("53.33"),
        Decimal("44.44"),
        Decimal("35.56"),
    ]


def test_collapsing_repeated_states_gives_the_same_removal_effects():
    repeated = markov_chain([["email", "email", "ads"], ["ads", "ads"]], [["email", "seo", "seo"]])
    collapsed = markov_chain([["email", "ads"], ["ads"]], [["email", "seo"]])
    assert (
        markov_removal_effects(repeated, exact=True)[1]
        == (markov_removal_effects(collapsed, exact=True)[1])
    )


def test_contact_with_a_conversion_gives_no_null_path():
    """Contact a converts once; its later touchpoint (after the conversion) is not a NULL path.

    Only path: START→email→CONV, so P = 1 and RE_email = 1: email gets everything.
    """
    touchpoints = [
        Touchpoint(1, "a", T - DAY, "email"),
        Touchpoint(2, "a", T + DAY, "ads"),
    ]
    result = attribute(
        build_journeys(touchpoints, [Conversion("d", "a", T, Decimal("10.00"))]), model="markov"
    )
    assert {row.key: row.conversions for row in result.groups} == {"ads": 0, "email": 1}


def test_markov_campaign_level_is_its_own_chain():
    touchpoints = [
        Touchpoint(1, "a", T - 2 * DAY, "email", "spring"),
        Touchpoint(2, "a", T - DAY, "email", "brand"),
        Touchpoint(3, "b", T - DAY, "ads", "brand"),
    ]
    conversions = [Conversion("d", "a", T, Decimal("9.00"))]
    # Paths: START→spring→brand→CONV; START→brand→NULL.
    # START: spring 1/2, brand 1/2; spring→brand 1; brand: CONV 1/2, NULL 1/2.
    # P = 1/2·1·1/2 + 1/2·1/2 = 1/2. -spring: P = 1/4, RE = 1/2. -brand: P = 0, RE = 1.
    # Shares: brand 2/3, spring 1/3 of 1 conversion and of 900 cents.
    result = attribute(
        build_journeys(touchpoints, conversions), model="markov", group_by="campaign"
    )
    assert {row.key: (row.conversions, row.revenue) for row in result.groups} == {
        "brand": (Fraction(2, 3), Decimal("6.00")),
        "spring": (Fraction(1, 3), Decimal("3.00")),
    }


def test_analysis_window_limits_null_paths():
    touchpoints = [
        Touchpoint(1, "a", T - DAY, "email"),
        Touchpoint(2, "b", T - 200 * DAY, "ads"),  # non-converting, outside the window
    ]
    conversions = [Conversion("d", "a", T, Decimal("1.00"))]
    windowed = build_journeys(touchpoints, conversions, window=(T - 30 * DAY, T))
    assert windowed.non_converting == []
    assert len(build_journeys(touchpoints, conversions).non_converting) == 1


def test_no_conversions_gives_zero_rows():
    journeys_ = build_journeys([Touchpoint(1, "a", T, "email")], [])
    result = attribute(journeys_, model="markov")
    assert [(row.key, row.conversions, row.revenue) for row in result.rows()] == [
        ("email", 0, Decimal("0.00"))
    ]


def _solve_by_removal(converting, null, removed=None):
    """Independent check: rebuild the chain with transitions into ``removed`` sent to NULL and
    solve h = Qh + r by Gauss-Jordan with partial pivoting on Fractions."""
    counts: dict[tuple[str, str], int] = {}
    for paths, end in ((converting, "CONV"), (null, "NULL")):
        for path in paths:
            for source, target in pairwise(["START", *path, end]):
                target = "NULL" if target == removed else target
                counts[source, target] = counts.get((source, target), 0) + 1
    states = sorted({s for s, _t in counts})
    totals = {s: sum(c for (a, _b), c in counts.items() if a == s) for s in states}
    n = len(states)
    position = {s: i for i, s in enumerate(states)}
    rows = []
    for s in states:
        row = [Fraction(0)] * (n + 1)
        row[position[s]] += 1
        for (a, b), c in counts.items():
            if a != s:
                continue
            if b in position:
                row[position[b]] -= Fraction(c, totals[s])
            elif b == "CONV":
                row[n] += Fraction(c, totals[s])
        rows.append(row)
    for k in range(n):
        pivot = max(range(k, n), key=lambda i: abs(rows[i][k]))
        rows[k], rows[pivot] = rows[pivot], rows[k]
        rows[k] = [v / rows[k][k] for v in rows[k]]
        for i in range(n):
            if i != k and rows[i][k]:
                rows[i] = [a - rows[i][k] * b for a, b in zip(rows[i], rows[k], strict=True)]
    return rows[position["START"]][n]


paths = st.lists(st.sampled_from("abcde"), min_size=1, max_size=5)


@settings(max_examples=40, deadline=None)
@given(converting=st.lists(paths, min_size=1, max_size=6), null=st.lists(paths, max_size=6))
def test_removal_effects_match_solving_each_removed_chain(converting, null):
    chain = markov_chain(converting, null)
    probability, effects = markov_removal_effects(chain, exact=True)
    p = _solve_by_removal(converting, null)
    assert probability == p
    for state in chain.states:
        assert effects[state] == 1 - _solve_by_removal(converting, null, removed=state) / p
    _probability, approximate = markov_removal_effects(chain, exact=False)
    for state in chain.states:
        assert abs(approximate[state] - float(effects[state])) < 1e-9


def test_large_chain_uses_double_precision_and_still_allocates_exactly():
    touchpoints = []
    conversions = []
    for contact in range(120):
        for step in range(3):
            touchpoints.append(
                Touchpoint(
                    contact * 3 + step,
                    contact,
                    T - (3 - step) * DAY,
                    "web",
                    f"campaign{(contact * 7 + step * 13) % 60:02d}",
                )
            )
        if contact % 3 == 0:
            conversions.append(Conversion(f"d{contact}", contact, T, Decimal("10.01")))
    result = attribute(
        build_journeys(touchpoints, conversions), model="markov", group_by="campaign"
    )
    assert len(result.groups) == 60  # 61 transient states: above the exact limit
    assert sum(row.revenue for row in result.groups) == Decimal("400.40")
    assert sum(row.conversions for row in result.groups) == 40


def test_weighted_path_table_gives_the_same_chain_as_listing_every_path():
    from metrics.computations.attribution import markov_chain, markov_chain_weighted

    converting = [["Email", "Search"], ["Email", "Search"], ["Social"]]
    null = [["Email"], ["Email", "Search"], ["Social", "Social"]]
    listed = markov_chain(converting, null)
    table = markov_chain_weighted(
        [(["Email", "Search"], 2, 1), (["Social"], 1, 0), (["Email"], 0, 1)],
        [(["Social", "Social"], 0, 1)],
    )
    assert table == listed
