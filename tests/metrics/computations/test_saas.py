"""The monthly SaaS metrics table on hand-worked customers (docs/metrics.md, "Subscriptions and
MRR" and "CAC, LTV and payback")."""

from dataclasses import fields
from datetime import date
from decimal import Decimal

import pytest

from metrics.computations.saas import (
    SAAS_COLUMNS,
    UNALLOCATED,
    SaasMonth,
    saas_row_format,
    saas_table,
)
from metrics.computations.subscriptions import SubscriptionEvent

D = Decimal
E = SubscriptionEvent
EVENTS = [
    # A: new 100 in Jan, expands to 150 in Mar, contracts to 120 in Apr.
    E("A", date(2026, 1, 10), D("100")),
    E("A", date(2026, 3, 5), D("150")),
    E("A", date(2026, 4, 10), D("120")),
    # B: new 200 in Jan, churns in Feb, reactivates at 80 in Apr.
    E("B", date(2026, 1, 15), D("200")),
    E("B", date(2026, 2, 10), D("0")),
    E("B", date(2026, 4, 1), D("80")),
    # C: starts and cancels within Feb: never MRR at a month end, never counted.
    E("C", date(2026, 2, 3), D("50")),
    E("C", date(2026, 2, 20), D("0")),
    # D: two events on one day; the later one (90) holds: new 90 in Feb.
    E("D", date(2026, 2, 5), D("60")),
    E("D", date(2026, 2, 5), D("90")),
    # E: two events on one day ending at 0: never counted.
    E("E", date(2026, 3, 10), D("40")),
    E("E", date(2026, 3, 10), D("0")),
]
CHANNELS = {"A": "ads", "B": "seo", "C": "ads", "D": "ads", "E": "seo"}
COSTS = {
    (date(2026, 1, 1), "ads"): D("300"),
    (date(2026, 1, 31), UNALLOCATED): D("100"),  # any day of the month keys the month
    (date(2026, 2, 1), "ads"): D("90"),
    (date(2026, 2, 1), "seo"): D("30"),
    (date(2026, 3, 1), UNALLOCATED): D("50"),
}


@pytest.fixture
def table():
    rows = saas_table(
        events=EVENTS,
        acquisition_channel=CHANNELS,
        cost_by_month_channel=COSTS,
        gross_margin=D("0.80"),
        paid_channels=["ads"],
    )
    return {row.month.month: row for row in rows}


def test_columns_are_the_dataclass_fields_in_order():
    assert tuple(field.name for field in fields(SaasMonth)) == SAAS_COLUMNS
    assert len(SAAS_COLUMNS) == 26


def test_one_row_per_month_from_first_to_last_event(table):
    assert sorted(table) == [1, 2, 3, 4]
    assert all(row.month.day == 1 for row in table.values())


def test_january_new_customers_and_cac(table):
    jan = table[1]
    assert (jan.starting_mrr, jan.new_mrr, jan.ending_mrr, jan.net_new_mrr) == (0, 300, 300, 300)
    assert (jan.customers_start, jan.new_customers, jan.customers_end) == (0, 2, 2)
    # No customer at the start: churn, NRR and GRR undefined (not 0).
    assert jan.logo_churn_rate is None and jan.nrr_month is None and jan.grr_month is None
    assert jan.arpa == D("150")
    # Blended: (300 ads + 100 unallocated) / 2 new = 200; paid: 300 ads / 1 (A) = 300.
    assert jan.blended_cac == D("200")
    assert jan.paid_cac == D("300")
    assert jan.ltv is None and jan.ltv_to_cac is None  # no churn rate in Jan
    assert jan.cac_payback_months == D(200) / D(120)  # 200 / (150 * 0.8)


def test_february_churn_new_and_same_month_customers(table):
    feb = table[2]
    # B churns 200, D new at 90 (the later of its two same-day events), C never counted.
    assert (feb.new_mrr, feb.churned_mrr, feb.expansion_mrr, feb.contraction_mrr) == (
        90,
        200,
        0,
        0,
    )
    assert feb.net_new_mrr == D("-110")
    assert (feb.starting_mrr, feb.ending_mrr) == (300, 190)
    assert (feb.customers_start, feb.new_customers, feb.churned_customers) == (2, 1, 1)
    assert feb.customers_end == 2
    assert feb.logo_churn_rate == D("0.5")
    assert feb.nrr_month == D(100) / D(300)  # (300 + 0 - 0 - 200) / 300
    assert feb.grr_month == D(100) / D(300)
    assert feb.arpa == D("95")
    assert feb.blended_cac == D("120")  # (90 + 30) / 1 new
    assert feb.paid_cac == D("90")  # ads 90 / D
    assert feb.ltv == D("152")  # 95 * 0.8 / 0.5
    assert feb.ltv_to_cac == D(152) / D(120)
    assert feb.cac_payback_months == D(120) / D(76)  # 120 / (95 * 0.8)


def test_march_expansion_and_cost_without_new_customers(table):
    mar = table[3]
    assert (mar.expansion_mrr, mar.new_mrr, mar.churned_mrr, mar.net_new_mrr) == (50, 0, 0, 50)
    assert (mar.starting_mrr, mar.ending_mrr, mar.customers_end) == (190, 240, 2)
    assert mar.logo_churn_rate == 0
    assert mar.grr_month == 1
    assert mar.nrr_month == D(240) / D(190)
    # 50 unallocated cost but no new customer: CAC undefined, not 0 nor infinite.
    assert mar.blended_cac is None and mar.paid_cac is None and mar.cac_payback_months is None
    assert mar.ltv is None  # churn rate 0


def test_april_contraction_and_reactivation_not_new(table):
    apr = table[4]
    assert (apr.contraction_mrr, apr.reactivation_mrr, apr.new_mrr) == (30, 80, 0)
    assert apr.net_new_mrr == D("50")
    assert (apr.reactivated_customers, apr.new_customers, apr.customers_end) == (1, 0, 3)
    assert apr.nrr_month == D("0.875") and apr.grr_month == D("0.875")  # 210 / 240
    assert apr.blended_cac is None  # a reactivation is not a new customer


def test_trailing_figures_undefined_before_twelve_months(table):
    for row in table.values():
        assert row.nrr_t12m is None and row.grr_t12m is None and row.ltv_t12m_churn is None


def test_row_format_money_rates_and_undefined(table):
    assert saas_row_format(table[2]) == {
        "month": "2026-02",
        "starting_mrr": "300.00",
        "new_mrr": "90.00",
        "expansion_mrr": "0.00",
        "contraction_mrr": "0.00",
        "churned_mrr": "200.00",
        "reactivation_mrr": "0.00",
        "net_new_mrr": "-110.00",
        "ending_mrr": "190.00",
        "customers_start": "2",
        "new_customers": "1",
        "reactivated_customers": "0",
        "churned_customers": "1",
        "customers_end": "2",
        "logo_churn_rate": "0.5000000000",
        "grr_month": "0.3333333333",
        "nrr_month": "0.3333333333",
        "nrr_t12m": "",
        "grr_t12m": "",
        "arpa": "95.00",
        "blended_cac": "120.00",
        "paid_cac": "90.00",
        "ltv": "152.00",
        "ltv_t12m_churn": "",
        "cac_payback_months": "1.5789473684",
        "ltv_to_cac": "1.2666666667",
    }
    formatted = saas_row_format(table[4])
    assert formatted["arpa"] == "96.67"  # 290 / 3 = 96.666… half-up
    assert formatted["logo_churn_rate"] == "0.0000000000"  # a zero, not "0E-10"
    assert formatted["blended_cac"] == ""


YEAR_EVENTS = [
    # X: 100 from Jan 2025, expands to 130 in Jan 2026.
    E("X", date(2025, 1, 10), D("100")),
    E("X", date(2026, 1, 10), D("130")),
    # Y: 100 from Jan 2025, churns in Jun 2025.
    E("Y", date(2025, 1, 10), D("100")),
    E("Y", date(2025, 6, 10), D("0")),
    # Z: new at 50 in Jul 2025.
    E("Z", date(2025, 7, 10), D("50")),
]


def year_table(**kwargs):
    rows = saas_table(
        events=YEAR_EVENTS,
        acquisition_channel={},
        cost_by_month_channel={},
        gross_margin=D("0.8"),
        paid_channels=[],
        **kwargs,
    )
    return {row.month: row for row in rows}


def test_twelve_month_figures_once_the_history_has_twelve_months():
    rows = year_table()
    assert len(rows) == 13  # Jan 2025 … Jan 2026
    assert rows[date(2025, 11, 1)].ltv_t12m_churn is None  # 11 months of history
    dec = rows[date(2025, 12, 1)]
    # Pooled churn Jan…Dec 2025: 1 churned / (0 + 2*5 + 1 + 2*5) customers at month starts
    # = 1/21; ARPA Dec = (100 + 50) / 2 = 75; LTV = 75 * 0.8 * 21 = 1260.
    assert dec.ltv_t12m_churn == D("1260")
    assert dec.ltv is None  # no churn in December itself
    assert dec.nrr_t12m is None  # nobody active at Dec 2024
    jan = rows[date(2026, 1, 1)]
    # Active at Jan 2025: X 100, Y 100. Now X 130, Y 0: NRR 130/200, GRR (100 + 0)/200.
    assert jan.nrr_t12m == D("0.65")
    assert jan.grr_t12m == D("0.5")
    # Pooled Feb 2025…Jan 2026: 1 / (2*5 + 1 + 2*5 + 2) = 1/23; ARPA (130 + 50) / 2 = 90.
    assert jan.ltv_t12m_churn == D("1656")  # 90 * 0.8 * 23


def test_given_range_keeps_the_whole_history_for_trailing_figures():
    rows = year_table(first=date(2025, 12, 15), last=date(2026, 1, 1))
    assert list(rows) == [date(2025, 12, 1), date(2026, 1, 1)]
    assert rows[date(2025, 12, 1)].ltv_t12m_churn == D("1260")
    assert rows[date(2026, 1, 1)].nrr_t12m == D("0.65")


def test_months_before_the_history_are_zero_and_not_history():
    rows = year_table(first=date(2024, 11, 1), last=date(2025, 12, 1))
    assert rows[date(2024, 11, 1)].ending_mrr == 0
    assert rows[date(2024, 11, 1)].arpa is None
    # The history still starts in Jan 2025: 12 months at Dec 2025, 11 at Nov 2025.
    assert rows[date(2025, 11, 1)].ltv_t12m_churn is None
    assert rows[date(2025, 12, 1)].ltv_t12m_churn == D("1260")


def test_no_events_no_rows():
    assert (
        saas_table(
            events=[],
            acquisition_channel={},
            cost_by_month_channel={},
            gross_margin=D("0.8"),
            paid_channels=[],
        )
        == []
    )


def test_unallocated_is_never_a_paid_channel():
    rows = saas_table(
        events=EVENTS,
        acquisition_channel=CHANNELS,
        cost_by_month_channel=COSTS,
        gross_margin=D("0.80"),
        paid_channels=["ads", UNALLOCATED],
    )
    assert rows[0].paid_cac == D("300")  # the 100 unallocated stays out of paid CAC
