"""Hand-worked datasets for the subscriptions, cohorts, CS ROI and initiative ROI reports.

Subscriptions (reporting currency USD), customers (segment, acquisition channel):

* A (SMB, Search — paid): new 100 on 10 Jan, 150 on 15 Feb (expansion 50), 120 on 5 Mar
  (contraction 30).
* B (Enterprise, Email): new 200 on 20 Jan, churn on 10 Feb, back at 250 on 20 Mar
  (reactivation).
* C (SMB, Search): two events on 5 Feb (50, then 80: new 80), churn on 31 Mar.
* D (Enterprise, no channel): new EUR 100 on 15 Mar at 1.10 = USD 110.00.

Month-end MRR: Jan A100 B200 = 300; Feb A150 C80 = 230; Mar A120 B250 D110 = 480.

Costs: sales and marketing ledger 1000 (Jan), 600 (Feb), 900 (Mar); Search campaign spend
400 (Jan) and 300 (Mar). Customer Success department GL: 200 in March.

Initiatives (period March 2026, gross margin 0.80):

* X "Onboarding" (start 1 Jan): GL-kind cost 1000 on 15 Jan and 200 on 5 Mar, time
  10 h x 50 = 500 on 10 Mar, other 100 on 12 Mar, a Product GL line of 400 tagged X on
  20 Mar (March: GL-kind cost and tagged GL = possible double count); benefits revenue
  1000 on 28 Feb, retained MRR 500 on 31 Mar.
* Y "Billing" (start 1 Feb): time 300 on 10 Feb; benefit revenue 1000 on 15 Mar.
* Z "Search" (no start date: starts with its first record): time 200 on 3 Mar.

Engineering GL (untagged) 1000 in March.
"""

import datetime as dt
from decimal import Decimal

from tests import factories as f


def day(month: int, d: int, year: int = 2026) -> dt.date:
    return dt.date(year, month, d)


def subscriptions_dataset() -> dict:
    src = f.ConnectorFactory(name="billing")
    search = f.ChannelFactory(source=src, name="Search", is_paid=True)
    email = f.ChannelFactory(source=src, name="Email")
    customers = {
        "A": f.CustomerFactory(source=src, name="A", segment="SMB", acquisition_channel=search),
        "B": f.CustomerFactory(
            source=src, name="B", segment="Enterprise", acquisition_channel=email
        ),
        "C": f.CustomerFactory(source=src, name="C", segment="SMB", acquisition_channel=search),
        "D": f.CustomerFactory(source=src, name="D", segment="Enterprise"),
    }
    f.FxRateFactory(source=src, currency_id="EUR", date=day(3, 15), rate="1.10")
    events = [
        ("A", day(1, 10), "100.00", "new", "USD"),
        ("A", day(2, 15), "150.00", "expansion", "USD"),
        ("A", day(3, 5), "120.00", "contraction", "USD"),
        ("B", day(1, 20), "200.00", "new", "USD"),
        ("B", day(2, 10), "0.00", "churn", "USD"),
        ("B", day(3, 20), "250.00", "reactivation", "USD"),
        ("C", day(2, 5), "50.00", "new", "USD"),
        ("C", day(2, 5), "80.00", "expansion", "USD"),
        ("C", day(3, 31), "0.00", "churn", "USD"),
        ("D", day(3, 15), "100.00", "new", "EUR"),
    ]
    for name, occurred, mrr, kind, currency in events:
        f.SubscriptionEventFactory(
            source=src,
            customer=customers[name],
            occurred_on=occurred,
            mrr_after=Decimal(mrr),
            type=kind,
            currency_id=currency,
        )
    sm = f.AccountFactory(source=src, code="6100", is_sales_marketing=True)
    for month, amount in ((1, "1000.00"), (2, "600.00"), (3, "900.00")):
        f.GLLineFactory(source=src, account=sm, posting_date=day(month, 28), amount=amount)
    campaign = f.CampaignFactory(source=src, name="Brand", channel=search)
    f.CampaignSpendFactory(source=src, campaign=campaign, date=day(1, 5), amount="400.00")
    f.CampaignSpendFactory(source=src, campaign=campaign, date=day(3, 5), amount="300.00")
    cs = f.DepartmentFactory(source=src, name="Customer Success", code="CS")
    opex = f.AccountFactory(source=src, code="6500")
    f.GLLineFactory(
        source=src, account=opex, department=cs, posting_date=day(3, 31), amount="200.00"
    )
    return {"source": src, "customers": customers, "cs": cs, "opex": opex}


def initiatives_dataset() -> dict:
    src = f.ConnectorFactory(name="erp")
    product = f.DepartmentFactory(source=src, name="Product", code="PRD")
    engineering = f.DepartmentFactory(source=src, name="R&D", code="Engineering")
    account = f.AccountFactory(source=src, code="6600")
    x = f.InitiativeFactory(source=src, name="Onboarding", start_date=day(1, 1))
    y = f.InitiativeFactory(source=src, name="Billing", start_date=day(2, 1))
    z = f.InitiativeFactory(source=src, name="Search")

    def cost(initiative, on, kind, amount, **extra):
        f.InitiativeCostFactory(
            source=src, initiative=initiative, date=on, kind=kind, amount=amount, **extra
        )

    cost(x, day(1, 15), "gl", "1000.00")
    cost(x, day(3, 5), "gl", "200.00")
    cost(x, day(3, 10), "time", "500.00", hours="10", hourly_rate="50.00")
    cost(x, day(3, 12), "other", "100.00")
    cost(y, day(2, 10), "time", "300.00", hours="6", hourly_rate="50.00")
    cost(z, day(3, 3), "time", "200.00", hours="4", hourly_rate="50.00")
    f.GLLineFactory(
        source=src,
        account=account,
        department=product,
        initiative=x,
        posting_date=day(3, 20),
        amount="400.00",
    )
    f.GLLineFactory(
        source=src,
        account=account,
        department=engineering,
        posting_date=day(3, 18),
        amount="1000.00",
    )
    for initiative, on, kind, amount in (
        (x, day(2, 28), "revenue", "1000.00"),
        (x, day(3, 31), "retention", "500.00"),
        (y, day(3, 15), "revenue", "1000.00"),
    ):
        f.InitiativeBenefitFactory(
            source=src, initiative=initiative, date=on, kind=kind, amount=amount
        )
    return {"source": src, "x": x, "y": y, "z": z, "product": product}
