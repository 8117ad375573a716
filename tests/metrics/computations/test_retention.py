"""Cohorts, baseline churn, customer-success ROI and its coverage on hand-worked data
(docs/metrics.md, "Cohorts and retention" and "Customer-success ROI")."""

from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from metrics.computations.retention import (
    BASELINE_NOT_IN_HISTORY,
    NO_BASELINE_MRR,
    NO_CS_COST,
    baseline_churn_rate,
    baseline_months,
    baseline_undefined_reason,
    cohort_table,
    cs_cost_by_segment,
    cs_roi,
    cs_roi_for_ledger,
    retention_roi_coverage,
    segment_ledgers,
)
from metrics.computations.subscriptions import MrrLedger, MrrMonth, SubscriptionEvent

D = Decimal
E = SubscriptionEvent


def month(
    day: date, *, start: str, churn: str = "0", expansion: str = "0", contraction: str = "0"
) -> MrrMonth:
    """A hand-made MrrMonth with only what the CS ROI reads."""
    return MrrMonth(
        month=day,
        start_mrr=D(start),
        end_mrr=D(0),
        new=D(0),
        reactivation=D(0),
        expansion=D(expansion),
        contraction=D(contraction),
        churn=D(churn),
        new_customers=frozenset(),
        reactivated_customers=frozenset(),
        churned_customers=frozenset(),
        active_at_start=0,
        active_at_end=0,
        arpa=None,
        logo_churn_rate=None,
        nrr=None,
        grr=None,
    )


# --- Cohorts -----------------------------------------------------------------------------

COHORT_EVENTS = [
    E("A", date(2026, 1, 10), D("100")),
    E("A", date(2026, 3, 5), D("150")),
    E("A", date(2026, 4, 10), D("120")),
    E("B", date(2026, 1, 15), D("200")),
    E("B", date(2026, 2, 10), D("0")),
    E("B", date(2026, 4, 1), D("80")),  # reactivates: counts again in its cohort
    E("C", date(2026, 2, 3), D("50")),  # in and out within Feb: in no cohort
    E("C", date(2026, 2, 20), D("0")),
    E("D", date(2026, 2, 5), D("60")),
    E("D", date(2026, 2, 5), D("90")),
]


def test_cohort_table():
    rows = cohort_table(MrrLedger(COHORT_EVENTS), date(2026, 4, 30))
    assert [row.cohort for row in rows] == [date(2026, 1, 1), date(2026, 2, 1)]
    jan, feb = rows
    assert jan.members == {"A", "B"}
    assert jan.start_mrr == D("300")
    # Members active at the end of Jan, Feb, Mar, Apr: 2, 1 (A), 1 (A), 2 (A, B back).
    assert jan.logo == [1, D("0.5"), D("0.5"), 1]
    # MRR: 300, 100, 150, 120 + 80 = 200 over 300.
    assert jan.revenue == [1, D(100) / D(300), D("0.5"), D(200) / D(300)]
    assert feb.members == {"D"}
    assert feb.start_mrr == D("90")
    assert feb.logo == [1, 1, 1]
    assert feb.revenue == [1, 1, 1]


def test_cohort_table_stops_at_last_month():
    rows = cohort_table(MrrLedger(COHORT_EVENTS), date(2026, 1, 1))
    assert len(rows) == 1 and rows[0].logo == [1]


# --- Baseline ----------------------------------------------------------------------------

BASELINE = [
    month(date(2025, 1, 1), start="1000", churn="30"),
    month(date(2025, 2, 1), start="1000"),
    month(date(2025, 3, 1), start="1000", churn="30"),
]


def test_baseline_rate_pools_churn_over_start_mrr():
    assert baseline_churn_rate(BASELINE, date(2025, 1, 1)) == D("0.02")  # 60 / 3000
    assert baseline_undefined_reason(BASELINE, date(2025, 1, 1)) == ""


def test_baseline_before_the_history_is_undefined():
    assert baseline_churn_rate(BASELINE, date(2025, 2, 1)) is None
    assert baseline_undefined_reason(BASELINE, date(2025, 2, 1)) == BASELINE_NOT_IN_HISTORY
    assert baseline_churn_rate(BASELINE, None) is None


def test_baseline_with_a_missing_month_is_undefined():
    gap = [BASELINE[0], BASELINE[2]]
    assert baseline_churn_rate(gap, date(2025, 1, 1)) is None
    assert baseline_undefined_reason(gap, date(2025, 1, 1)) == BASELINE_NOT_IN_HISTORY
    assert baseline_churn_rate([], date(2025, 1, 1)) is None


def test_baseline_without_start_mrr_is_undefined():
    empty = [month(date(2025, 1, 1), start="0"), month(date(2025, 2, 1), start="0")]
    assert baseline_churn_rate(empty, date(2025, 1, 1)) is None
    assert baseline_undefined_reason(empty, date(2025, 1, 1)) == NO_BASELINE_MRR


def test_default_baseline_is_the_twelve_months_before_the_period():
    months = baseline_months(date(2026, 3, 15))
    assert months[0] == date(2025, 3, 1) and months[-1] == date(2026, 2, 1)
    assert len(months) == 12


# --- CS ROI ------------------------------------------------------------------------------

PERIOD = [
    month(date(2026, 1, 1), start="1000", expansion="50", contraction="10", churn="50"),
    month(date(2026, 2, 1), start="1000"),
]


def test_cs_roi():
    result = cs_roi(
        period_months=PERIOD,
        baseline_rate=D("0.02"),
        cs_cost=D("200"),
        gross_margin=D("0.8"),
        value_horizon_months=12,
    )
    # Avoided: 0.02*1000 - 50 = -30, then 0.02*1000 - 0 = 20; total -10.
    assert result.churn_avoided_by_month == [D("-30"), D("20")]
    assert result.churn_avoided == D("-10")
    assert (result.expansion, result.contraction, result.start_mrr) == (50, 10, 2000)
    # (50 - 10 - 10) * 0.8 * 12 = 288; ROI (288 - 200) / 200.
    assert result.retention_value == D("288")
    assert result.roi == D("0.44")
    assert result.reason == ""


def test_cs_roi_with_negative_churn_avoided():
    worse = [PERIOD[0], month(date(2026, 2, 1), start="1000", churn="40")]
    result = cs_roi(
        period_months=worse,
        baseline_rate=D("0.02"),
        cs_cost=D("200"),
        gross_margin=D("0.8"),
        value_horizon_months=12,
    )
    # Avoided -30 and 20 - 40 = -20: -50; value (50 - 10 - 50) * 9.6 = -96.
    assert result.churn_avoided == D("-50")
    assert result.retention_value == D("-96")
    assert result.roi == D("-1.48")  # (-96 - 200) / 200


def test_cs_roi_without_cs_cost_is_undefined():
    result = cs_roi(
        period_months=PERIOD,
        baseline_rate=D("0.02"),
        cs_cost=D("0"),
        gross_margin=D("0.8"),
        value_horizon_months=12,
    )
    assert result.roi is None
    assert result.reason == NO_CS_COST == "no customer-success cost in the period"
    assert result.retention_value == D("288")  # still shown


def test_cs_roi_without_baseline_is_undefined_with_its_reason():
    result = cs_roi(
        period_months=PERIOD,
        baseline_rate=None,
        cs_cost=D("200"),
        gross_margin=D("0.8"),
        value_horizon_months=12,
        baseline_reason=NO_BASELINE_MRR,
    )
    assert result.roi is None and result.retention_value is None
    assert result.churn_avoided is None and result.churn_avoided_by_month == [None, None]
    assert result.reason == "no MRR at the start of the baseline months"


LEDGER_EVENTS = [
    # P: 100 from Jan 2025, churns in Jul 2025.
    E("P", date(2025, 1, 5), D("100")),
    E("P", date(2025, 7, 10), D("0")),
    # Q: 400 from Jan 2025, expands to 440 in Jan 2026, churns in Feb 2026.
    E("Q", date(2025, 1, 5), D("400")),
    E("Q", date(2026, 1, 10), D("440")),
    E("Q", date(2026, 2, 10), D("0")),
]


def test_cs_roi_from_a_ledger_with_the_default_baseline():
    result = cs_roi_for_ledger(
        ledger=MrrLedger(LEDGER_EVENTS),
        period_first=date(2026, 1, 1),
        period_last=date(2026, 2, 28),
        cs_cost=D("1000"),
        gross_margin=D("0.8"),
    )
    # Baseline 2025: start MRR 0 (Jan) + 500 * 6 (Feb-Jul) + 400 * 5 (Aug-Dec) = 5000,
    # churn 100 (P, Jul): b = 0.02.
    assert result.baseline_rate == D("0.02")
    # Jan 2026: 0.02 * 400 - 0 = 8; Feb 2026: 0.02 * 440 - 440 = -431.2.
    assert result.churn_avoided_by_month == [D("8"), D("-431.2")]
    assert result.expansion == D("40")
    # (40 - 0 - 423.2) * 0.8 * 12 = -3678.72; ROI (-3678.72 - 1000) / 1000.
    assert result.retention_value == D("-3678.72")
    assert result.roi == D("-4.67872")


def test_cs_roi_from_a_ledger_before_twelve_months_of_history():
    result = cs_roi_for_ledger(
        ledger=MrrLedger(LEDGER_EVENTS),
        period_first=date(2025, 6, 1),
        period_last=date(2025, 6, 30),
        cs_cost=D("1000"),
        gross_margin=D("0.8"),
    )
    assert result.roi is None
    assert result.reason == BASELINE_NOT_IN_HISTORY == "baseline months not all in the history"


def test_segments_have_their_own_movements_and_baseline():
    ledgers = segment_ledgers(LEDGER_EVENTS, {"P": "smb", "Q": "ent"})
    assert sorted(ledgers) == ["ent", "smb"]
    history = date(2025, 1, 1)
    kwargs = {
        "period_first": date(2026, 1, 1),
        "period_last": date(2026, 2, 1),
        "cs_cost": D("500"),
        "gross_margin": D("0.8"),
        "history_first": history,
    }
    smb = cs_roi_for_ledger(ledger=ledgers["smb"], **kwargs)
    # smb baseline: start 100 * 6 (Feb-Jul) = 600, churn 100: b = 1/6; no MRR in the period.
    assert smb.baseline_rate == D(100) / D(600)
    assert smb.start_mrr == 0 and smb.retention_value == 0
    ent = cs_roi_for_ledger(ledger=ledgers["ent"], **kwargs)
    # ent baseline: 400 * 11, no churn: b = 0. Avoided 0 and -440; (40 - 440) * 9.6.
    assert ent.baseline_rate == 0
    assert ent.retention_value == D("-3840")
    assert ent.roi == D("-8.68")  # (-3840 - 500) / 500


def test_a_customer_without_segment_is_in_the_blank_segment():
    ledgers = segment_ledgers(LEDGER_EVENTS, {"P": "smb"})
    assert sorted(ledgers) == ["", "smb"]
    assert ledgers[""].customers == ["Q"]


# --- Allocation of the CS cost -----------------------------------------------------------


def test_cs_cost_split_in_proportion_to_start_mrr():
    # Equal thirds of 100.00: 33.33 each and the leftover cent to "a" (alphabetical).
    assert cs_cost_by_segment(D("100.00"), {"c": D(5), "a": D(5), "b": D(5)}) == {
        "a": D("33.34"),
        "b": D("33.33"),
        "c": D("33.33"),
    }


def test_cs_cost_split_with_a_segment_without_mrr():
    # 10001 cents at 1/3 and 2/3: 3333.67 and 6667.33 → floors 3333, 6667; the cent to "b".
    parts = cs_cost_by_segment(D("100.01"), {"a": D(0), "b": D(300), "c": D(600)})
    assert parts == {"a": D("0.00"), "b": D("33.34"), "c": D("66.67")}
    assert sum(parts.values()) == D("100.01")


def test_cs_cost_with_no_start_mrr_anywhere_stays_unallocated():
    assert cs_cost_by_segment(D("100"), {"a": D(0)}) == {}


@given(
    cents=st.integers(min_value=0, max_value=10**12),
    weights=st.dictionaries(
        st.text(min_size=1, max_size=3),
        st.decimals(min_value=0, max_value=10**6, places=2, allow_nan=False),
        min_size=1,
        max_size=8,
    ),
)
def test_cs_cost_parts_sum_to_the_whole(cents, weights):
    cost = D(cents).scaleb(-2)
    parts = cs_cost_by_segment(cost, weights)
    if any(weight > 0 for weight in weights.values()):
        assert sum(parts.values()) == cost
        assert set(parts) == set(weights)
        assert all(part >= 0 for part in parts.values())
    else:
        assert parts == {}


# --- Coverage ----------------------------------------------------------------------------


def test_retention_roi_coverage():
    end_mrr = {"A": D("100"), "B": D("300"), "C": D("0"), "D": D("100")}
    segments = {"A": "smb", "B": "ent", "C": "ent"}  # D has no segment: ""
    assert retention_roi_coverage(
        end_mrr_by_customer=end_mrr, segment_of=segments, segments_with_defined_roi={"ent"}
    ) == D("60")  # 300 / 500
    assert retention_roi_coverage(
        end_mrr_by_customer=end_mrr, segment_of=segments, segments_with_defined_roi={"ent", ""}
    ) == D("80")
    assert (
        retention_roi_coverage(
            end_mrr_by_customer={"A": D(0)}, segment_of={}, segments_with_defined_roi={""}
        )
        is None
    )


@pytest.mark.parametrize("cost", ["0", "0.00"])
def test_zero_cs_cost_allocates_zeros(cost):
    assert cs_cost_by_segment(D(cost), {"a": D(1), "b": D(2)}) == {"a": D(0), "b": D(0)}
