"""A small hand-worked sales dataset (March 2026, reporting currency USD).

Teams North (Ann, Bob) and South (Cy); March quotas Ann 1,000, Bob 500, Cy 2,000.
Won: Ann 600.00 (9 days, invoiced 600.00), Ann EUR 500.00 closed 20 Mar at 1.20 = 600.00
(15 days, invoiced EUR 500.00), Bob 200.00 opened 20 Feb (33 days, invoiced 150.00: a
mismatch), Cy 1,000.00 (9 days, no invoice: a mismatch). Lost: Bob 300.00, Cy 100.00.
Open: Cy 5,000.00 and Ann 700.00 at "Proposal". Sales department cost 1,000.00.

All teams: 4 won / 2 lost = 66.67 %; won revenue 2,400.00; average 600.00; cycle median 12,
mean 16.5 days; sales ROI (2,400 - 1,000) / 1,000 = 140 %; consistency 2 / 4 = 50 %.
Pipeline (opened in March): Closed won 3 deals 2,150.00 (the EUR deal at 1.10 on 5 Mar),
Closed lost 2 deals 400.00, Proposal 2 deals 5,700.00 (open).
"""

import datetime as dt
from decimal import Decimal

from tests import factories as f

START, END = dt.date(2026, 3, 1), dt.date(2026, 3, 31)


def at(month: int, day: int) -> dt.datetime:
    return dt.datetime(2026, month, day, 10, tzinfo=dt.UTC)


def sales_dataset() -> dict:
    src = f.ConnectorFactory(name="crm-sales")
    north = f.SalesTeamFactory(source=src, name="North")
    south = f.SalesTeamFactory(source=src, name="South")
    ann = f.SalesRepFactory(source=src, name="Ann", team=north)
    bob = f.SalesRepFactory(source=src, name="Bob", team=north)
    cy = f.SalesRepFactory(source=src, name="Cy", team=south)
    for rep, amount in ((ann, "1000.00"), (bob, "500.00"), (cy, "2000.00")):
        f.QuotaFactory(
            source=src, rep=rep, period_start=START, period_end=END, amount=Decimal(amount)
        )
    for day, rate in ((20, "1.20"), (5, "1.10")):
        f.FxRateFactory(source=src, currency_id="EUR", date=dt.date(2026, 3, day), rate=rate)

    def deal(rep, amount, opened, closed=None, status="won", stage="Closed won", currency="USD"):
        return f.DealFactory(
            source=src,
            rep=rep,
            name=f"{rep.name} {amount}",
            amount=Decimal(amount),
            currency_id=currency,
            status=status,
            stage=stage,
            opened_at=opened,
            closed_at=closed,
        )

    ann1 = deal(ann, "600.00", at(3, 1), at(3, 10))
    ann2 = deal(ann, "500.00", at(3, 5), at(3, 20), currency="EUR")
    bob_won = deal(bob, "200.00", at(2, 20), at(3, 25))
    cy_won = deal(cy, "1000.00", at(3, 3), at(3, 12))
    deal(bob, "300.00", at(3, 2), at(3, 15), status="lost", stage="Closed lost")
    deal(cy, "100.00", at(3, 9), at(3, 30), status="lost", stage="Closed lost")
    deal(cy, "5000.00", at(3, 7), status="open", stage="Proposal")
    deal(ann, "700.00", at(3, 8), status="open", stage="Proposal")
    for won, amount, currency in (
        (ann1, "600.00", "USD"),
        (ann2, "500.00", "EUR"),
        (bob_won, "150.00", "USD"),
    ):
        f.InvoiceFactory(
            source=src,
            deal=won,
            amount=Decimal(amount),
            currency_id=currency,
            issue_date=dt.date(2026, 3, 28),
        )
    sales = f.DepartmentFactory(source=src, name="Sales")
    f.GLLineFactory(
        source=src, department=sales, posting_date=dt.date(2026, 3, 31), amount=Decimal("1000.00")
    )
    return {
        "src": src,
        "north": north,
        "south": south,
        "ann": ann,
        "bob": bob,
        "cy": cy,
        "bob_won": bob_won,
        "cy_won": cy_won,
    }
