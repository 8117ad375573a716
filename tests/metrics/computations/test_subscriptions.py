"""MRR movements over a few hand-made customers (docs/metrics.md, "Subscriptions and MRR")."""

from datetime import date
from decimal import Decimal

import pytest

from finhub.core.calendar import add_months, month_end
from metrics.computations.subscriptions import (
    MrrLedger,
    SubscriptionEvent,
    mrr_month,
    mrr_months,
    trailing_12_grr,
    trailing_12_nrr,
)

D = Decimal
EVENTS = [
    # A: starts in Jan at 100, expands to 150 in Mar.
    SubscriptionEvent("A", date(2026, 1, 5), D("100")),
    SubscriptionEvent("A", date(2026, 3, 10), D("150")),
    # B: starts in Jan at 200, churns in Feb, reactivates in Apr at 120.
    SubscriptionEvent("B", date(2026, 1, 20), D("200")),
    SubscriptionEvent("B", date(2026, 2, 15), D("0")),
    SubscriptionEvent("B", date(2026, 4, 1), D("120")),
    # C: starts in Feb at 50, contracts to 30 in Mar.
    SubscriptionEvent("C", date(2026, 2, 3), D("50")),
    SubscriptionEvent("C", date(2026, 3, 20), D("30")),
    # D: starts and cancels within Mar (never MRR at a month end), starts again in Apr.
    SubscriptionEvent("D", date(2026, 3, 5), D("80")),
    SubscriptionEvent("D", date(2026, 3, 25), D("0")),
    SubscriptionEvent("D", date(2026, 4, 2), D("60")),
]


@pytest.fixture
def months():
    ledger = MrrLedger(EVENTS)
    return {m.month.month: m for m in mrr_months(ledger, date(2026, 1, 1), date(2026, 4, 30))}


def test_month_helpers():
    assert month_end(date(2024, 2, 10)) == date(2024, 2, 29)
    assert add_months(date(2026, 1, 1), -1) == date(2025, 12, 1)
    assert add_months(date(2026, 11, 1), 14) == date(2028, 1, 1)


def test_january_two_new_customers(months):
    jan = months[1]
    assert (jan.new, jan.reactivation, jan.expansion, jan.contraction, jan.churn) == (
        D("300"),
        0,
        0,
        0,
        0,
    )
    assert jan.new_customers == {"A", "B"}
    assert jan.start_mrr == 0 and jan.end_mrr == D("300")
    assert jan.arpa == D("150")
    assert jan.nrr is None and jan.grr is None and jan.logo_churn_rate is None


def test_february_new_and_churn(months):
    feb = months[2]
    assert (feb.new, feb.churn, feb.expansion, feb.contraction) == (D("50"), D("200"), 0, 0)
    assert feb.churned_customers == {"B"}
    assert feb.net_new == D("-150")
    assert feb.logo_churn_rate == D("0.5")  # 1 churned / 2 active at end of Jan
    assert feb.nrr == D(100) / D(300)  # (300 + 0 - 0 - 200) / 300
    assert feb.grr == D(100) / D(300)
    assert feb.active_at_end == 2 and feb.arpa == D("75")  # 150 / 2


def test_march_expansion_contraction_and_intra_month_customer(months):
    mar = months[3]
    assert (mar.new, mar.reactivation, mar.expansion, mar.contraction, mar.churn) == (
        0,
        0,
        D("50"),
        D("20"),
        0,
    )
    assert mar.nrr == D("1.2")  # (150 + 50 - 20 - 0) / 150
    assert mar.grr == D(130) / D(150)  # (150 - 20 - 0) / 150
    assert mar.logo_churn_rate == 0
    assert mar.arpa == D("90")  # 180 / 2


def test_april_reactivation_is_not_new(months):
    apr = months[4]
    assert apr.reactivation == D("120") and apr.reactivated_customers == {"B"}
    # D never had MRR at a month end before: new, not a reactivation.
    assert apr.new == D("60") and apr.new_customers == {"D"}
    assert apr.net_new == D("180")
    assert apr.end_mrr == D("360") and apr.active_at_end == 4 and apr.arpa == D("90")


def test_same_day_events_apply_in_order():
    ledger = MrrLedger(
        [
            SubscriptionEvent("A", date(2026, 1, 5), D("100")),
            SubscriptionEvent("A", date(2026, 1, 5), D("40")),
        ]
    )
    assert ledger.mrr_at("A", date(2026, 1, 31)) == D("40")
    assert mrr_month(ledger, date(2026, 1, 1)).new == D("40")


def test_trailing_twelve_month_nrr_and_grr():
    ledger = MrrLedger(
        [
            SubscriptionEvent("E", date(2025, 1, 3), D("100")),
            SubscriptionEvent("F", date(2025, 1, 3), D("200")),
            SubscriptionEvent("F", date(2025, 6, 3), D("250")),
            SubscriptionEvent("G", date(2025, 1, 3), D("50")),
            SubscriptionEvent("G", date(2025, 3, 3), D("0")),
            SubscriptionEvent("H", date(2025, 5, 3), D("999")),  # not in the Jan 2025 cohort
        ]
    )
    # Cohort at end of Jan 2025: E 100, F 200, G 50 = 350. At Jan 2026: 100 + 250 + 0 = 350.
    assert trailing_12_nrr(ledger, date(2026, 1, 1)) == D(1)
    # GRR: min per customer 100 + 200 + 0 = 300 / 350.
    assert trailing_12_grr(ledger, date(2026, 1, 1)) == D(300) / D(350)
    # Nobody active at end of Jan 2024: undefined.
    assert trailing_12_nrr(ledger, date(2025, 1, 1)) is None
