"""CAC, LTV, LTV:CAC and payback (docs/metrics.md, "CAC, LTV and payback")."""

from datetime import date
from decimal import Decimal

from metrics.computations.cac import (
    blended_cac,
    cac_month,
    cac_payback_months,
    channel_cac,
    ltv,
    ltv_to_cac,
    paid_cac,
    pooled_churn_rate,
)
from metrics.computations.presentation import format_ratio
from metrics.computations.subscriptions import MrrLedger, SubscriptionEvent, mrr_months

D = Decimal


def test_blended_cac_and_zero_new_customers_is_undefined():
    assert blended_cac(sales_marketing_cost=D("9000"), new_customers=3) == D("3000")
    undefined = blended_cac(sales_marketing_cost=D("9000"), new_customers=0)
    assert undefined is None
    assert format_ratio(undefined) == "undefined"


def test_paid_and_channel_cac():
    spend = {"ads": D("1000"), "social": D("500"), "seo": D("300")}
    customers = {"ads": 4, "social": 1, "seo": 3, "": 2}
    assert paid_cac(
        spend_by_channel=spend, new_customers_by_channel=customers, paid_channels={"ads", "social"}
    ) == D("300")  # 1500 / 5
    assert (
        paid_cac(spend_by_channel=spend, new_customers_by_channel={}, paid_channels={"ads"}) is None
    )
    per_channel = channel_cac(acquisition_cost=spend, new_customers={"ads": 4, "social": 0})
    assert per_channel == {"ads": D("250"), "seo": None, "social": None}


def test_ltv_ratios_and_payback():
    value = ltv(arpa=D("100"), churn_rate=D("0.05"))  # 100 * 0.8 / 0.05
    assert value == D("1600")
    assert ltv(arpa=D("100"), churn_rate=D("0")) is None
    assert ltv(arpa=None, churn_rate=D("0.1")) is None
    assert ltv(arpa=D("100"), churn_rate=D("0.1"), gross_margin=D("0.5")) == D("500")
    assert ltv_to_cac(ltv_value=value, cac=D("400")) == D("4")
    assert ltv_to_cac(ltv_value=value, cac=None) is None
    assert cac_payback_months(cac=D("800"), arpa=D("100")) == D("10")  # 800 / (100 * 0.8)
    assert cac_payback_months(cac=D("800"), arpa=D("0")) is None


def _ten_customers_two_churn():
    events = [SubscriptionEvent(f"c{i}", date(2025, 1, 10), D("100")) for i in range(10)]
    events += [
        SubscriptionEvent("c0", date(2025, 3, 10), D("0")),
        SubscriptionEvent("c1", date(2025, 7, 10), D("0")),
    ]
    return MrrLedger(events)


def test_pooled_churn_undefined_until_twelve_months():
    months = mrr_months(_ten_customers_two_churn(), date(2025, 1, 1), date(2025, 12, 1))
    assert pooled_churn_rate(months[:11]) is None
    # Σ churned = 2; Σ customers at month start Jan..Dec = 0 + 10 + 10 + 9*4 + 8*5 = 96.
    assert pooled_churn_rate(months) == D(2) / D(96)


def test_cac_month_puts_it_together():
    ledger = _ten_customers_two_churn()
    months = mrr_months(ledger, date(2025, 1, 1), date(2025, 12, 1))
    january = cac_month(
        months=months[:1],
        sales_marketing_cost=D("5000"),
        spend_by_channel={"ads": D("3000")},
        acquisition_channel={f"c{i}": ("ads" if i < 6 else "seo") for i in range(10)},
        paid_channels={"ads"},
    )
    assert january.new_customers == 10
    assert january.blended_cac == D("500")
    assert january.paid_cac == D("500")  # 3000 / 6
    assert january.channel_cac == {"ads": D("500"), "seo": D("0")}  # seo: no cost
    assert january.arpa == D("100")
    assert january.ltv is None  # no customers at month start: logo churn undefined
    assert january.ltv_12_month is None
    assert january.payback_months == D("6.25")  # 500 / (100 * 0.8)

    december = cac_month(
        months=months,
        sales_marketing_cost=D("1000"),
        spend_by_channel={},
        acquisition_channel={},
        paid_channels=set(),
    )
    assert december.new_customers == 0
    assert december.blended_cac is None and december.ltv_to_cac is None
    assert december.ltv is None  # December logo churn is 0 → undefined
    assert december.ltv_12_month == D("100") * D("0.80") / (D(2) / D(96))
