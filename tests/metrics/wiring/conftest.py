"""A small hand-worked dataset in the database (reporting currency USD).

Channels Search (paid) and Email; campaigns Spring (Search), Newsletter (Email), Ghost
(Search, spend but no touchpoints) and Dud (Search, spend and a non-converting touch).
Period: March 2026.

* contact A: Search/Spring on 1 Mar, Newsletter (campaign only: channel via campaign) on
  5 Mar; deal D1 won 10 Mar 12:00 for EUR 1,000.00 at 1.10 on 10 Mar = USD 1,100.00 (the
  9 Mar rate 2.00 must not be used); invoiced EUR 1,000.00 (matches).
* contact B: Search/Spring on 2 Mar; deal D2 won 20 Mar for USD 300.00; invoiced 290.00
  (differs by more than 0.5%).
* contact C: no touchpoints; deal D3 won 15 Mar for USD 50.00 (unattributed), invoiced 50.00.
* contact D: Email touch on 1 Oct 2025 (outside the 90-day lookback); deal D4 won 25 Mar
  for USD 10.00 (unattributed), no invoice.
* contact E: Dud touch on 6 Mar, no deal; D5 lost on 12 Mar.
* spend in March: Spring 425.00 USD, Ghost EUR 100.00 at 1.20 on 4 Mar = 120.00, Dud 50.00.
"""

import datetime as dt
from decimal import Decimal

import pytest

from tests import factories as f

UTC = dt.UTC
START, END = dt.date(2026, 3, 1), dt.date(2026, 3, 31)


def at(month: int, day: int, hour: int = 10, year: int = 2026) -> dt.datetime:
    return dt.datetime(year, month, day, hour, tzinfo=UTC)


@pytest.fixture
def dataset(db, settings):
    settings.FINHUB_REPORTING_CURRENCY = "USD"
    src = f.ConnectorFactory(name="crm")
    search = f.ChannelFactory(source=src, name="Search", is_paid=True)
    email = f.ChannelFactory(source=src, name="Email")
    spring = f.CampaignFactory(source=src, name="Spring", channel=search)
    newsletter = f.CampaignFactory(source=src, name="Newsletter", channel=email)
    ghost = f.CampaignFactory(source=src, name="Ghost", channel=search)
    dud = f.CampaignFactory(source=src, name="Dud", channel=search)
    for day, rate in ((9, "2.00"), (10, "1.10"), (4, "1.20")):
        f.FxRateFactory(source=src, currency_id="EUR", date=dt.date(2026, 3, day), rate=rate)

    a, b, c, d, e = (f.ContactFactory(source=src, name=name) for name in "ABCDE")
    f.TouchpointFactory(
        source=src, contact=a, channel=search, campaign=spring, occurred_at=at(3, 1)
    )
    f.TouchpointFactory(source=src, contact=a, campaign=newsletter, occurred_at=at(3, 5))
    f.TouchpointFactory(
        source=src, contact=b, channel=search, campaign=spring, occurred_at=at(3, 2)
    )
    f.TouchpointFactory(source=src, contact=d, channel=email, occurred_at=at(10, 1, year=2025))
    f.TouchpointFactory(source=src, contact=e, channel=search, campaign=dud, occurred_at=at(3, 6))

    def deal(contact, amount, currency, closed, status="won"):
        return f.DealFactory(
            source=src,
            contact=contact,
            amount=Decimal(amount),
            currency_id=currency,
            status=status,
            opened_at=at(2, 1),
            closed_at=closed,
            stage="Closed",
        )

    d1 = deal(a, "1000.00", "EUR", at(3, 10, 12))
    d2 = deal(b, "300.00", "USD", at(3, 20))
    d3 = deal(c, "50.00", "USD", at(3, 15))
    deal(d, "10.00", "USD", at(3, 25))
    deal(e, "999.00", "USD", at(3, 12), status="lost")
    for won, amount, currency in (
        (d1, "1000.00", "EUR"),
        (d2, "290.00", "USD"),
        (d3, "50.00", "USD"),
    ):
        f.InvoiceFactory(
            source=src,
            deal=won,
            amount=Decimal(amount),
            currency_id=currency,
            issue_date=dt.date(2026, 3, 28),
        )
    f.InvoiceFactory(source=src, deal=d2, amount=Decimal("10.00"), status="void")

    f.CampaignSpendFactory(source=src, campaign=spring, date=dt.date(2026, 3, 3), amount="425.00")
    f.CampaignSpendFactory(
        source=src, campaign=ghost, date=dt.date(2026, 3, 4), amount="100.00", currency_id="EUR"
    )
    f.CampaignSpendFactory(source=src, campaign=dud, date=dt.date(2026, 3, 7), amount="50.00")
    # Outside the period: must not count.
    f.CampaignSpendFactory(source=src, campaign=spring, date=dt.date(2026, 4, 1), amount="999.00")
    return src


@pytest.fixture
def retention_settings(settings):
    """The settings the hand-worked retention dataset's figures assume (retention_data.py)."""
    settings.FINHUB_REPORTING_CURRENCY = "USD"
    settings.FINHUB_GROSS_MARGIN = "0.80"
    settings.FINHUB_BASELINE_MONTHS = 2
    settings.FINHUB_VALUE_HORIZON_MONTHS = 12
    settings.FINHUB_CS_DEPARTMENTS = ["CS"]
    return settings
