"""A small company for the dashboard tests (reporting currency USD).

Departments Sales (code SAL) and Engineering (ENG); accounts 4000 Subscription revenue,
5000 Hosting (cost of sales), 6100 Rent (expense), 6500 Advertising (expense, sales &
marketing). For every month of 2025 and 2026 up to June and each department, ``n`` GL
lines per account with the amounts below; the FY2026 budget (current) has one line per
account, department and month. Channels Search (paid) and Email; contacts with touchpoints
and won deals in March 2026; customers acquired through Search with subscription events.
"""

import datetime as dt
from decimal import Decimal

import pytest

from finhub.core import roles
from tests import factories as f

UTC = dt.UTC
MARCH = {"period": "month", "month": "2026-03"}
# (account code, department code) -> amount of ONE line per month
ACTUAL = {
    ("4000", "SAL"): Decimal("1000.00"),
    ("4000", "ENG"): Decimal("200.00"),
    ("5000", "ENG"): Decimal("150.00"),
    ("6100", "SAL"): Decimal("100.00"),
    ("6100", "ENG"): Decimal("300.00"),
    ("6500", "SAL"): Decimal("250.00"),
}
BUDGET = {
    ("4000", "SAL"): Decimal("900.00"),
    ("4000", "ENG"): Decimal("300.00"),
    ("5000", "ENG"): Decimal("100.00"),
    ("6100", "SAL"): Decimal("100.00"),
    ("6100", "ENG"): Decimal("250.00"),
    ("6500", "SAL"): Decimal("400.00"),
}


def months(year: int, last: int = 12):
    return [dt.date(year, month, 1) for month in range(1, last + 1)]


def make_company(n: int = 1, *, budget: bool = True) -> dict:
    src = f.ConnectorFactory(name="ERP", kind="erp")
    departments = {
        "SAL": f.DepartmentFactory(source=src, name="Sales", code="SAL"),
        "ENG": f.DepartmentFactory(source=src, name="Engineering", code="ENG"),
    }
    accounts = {
        "4000": f.AccountFactory(
            source=src, code="4000", name="Subscription revenue", type="revenue"
        ),
        "5000": f.AccountFactory(source=src, code="5000", name="Hosting", type="cost_of_sales"),
        "6100": f.AccountFactory(source=src, code="6100", name="Rent", type="expense"),
        "6500": f.AccountFactory(
            source=src, code="6500", name="Advertising", type="expense", is_sales_marketing=True
        ),
    }
    from records import models as m

    lines = []
    for month in months(2025) + months(2026, 6):
        for (code, dept), amount in ACTUAL.items():
            for i in range(n):
                lines.append(
                    m.GLLine(
                        source=src,
                        external_id=f"gl-{month:%Y%m}-{code}-{dept}-{i}",
                        account=accounts[code],
                        department=departments[dept],
                        posting_date=month + dt.timedelta(days=9 + i % 10),
                        amount=amount,
                        currency_id="USD",
                        description=f"{code} {dept} {month:%b %Y}",
                    )
                )
    m.GLLine.objects.bulk_create(lines)
    if budget:
        plan = f.BudgetFactory(source=src, fiscal_year=2026, name="Plan")
        m.BudgetLine.objects.bulk_create(
            m.BudgetLine(
                source=src,
                external_id=f"bl-{month:%Y%m}-{code}-{dept}",
                budget=plan,
                account=accounts[code],
                department=departments[dept],
                month=month,
                amount=amount * n,
                currency_id="USD",
            )
            for month in months(2026)
            for (code, dept), amount in BUDGET.items()
        )

    crm = f.ConnectorFactory(name="CRM", kind="crm")
    search = f.ChannelFactory(source=crm, name="Search", is_paid=True)
    email = f.ChannelFactory(source=crm, name="Email")
    spring = f.CampaignFactory(source=crm, name="Spring", channel=search)
    for _i in range(2 * n):
        a = f.ContactFactory(source=crm)
        b = f.ContactFactory(source=crm)
        f.TouchpointFactory(
            source=crm,
            contact=a,
            channel=search,
            campaign=spring,
            occurred_at=dt.datetime(2026, 3, 1, tzinfo=UTC),
        )
        f.TouchpointFactory(
            source=crm, contact=a, channel=email, occurred_at=dt.datetime(2026, 3, 3, tzinfo=UTC)
        )
        f.DealFactory(
            source=crm,
            contact=a,
            amount=Decimal("1000.00"),
            closed_at=dt.datetime(2026, 3, 10, tzinfo=UTC),
        )
        f.DealFactory(
            source=crm,
            contact=b,
            amount=Decimal("500.00"),
            closed_at=dt.datetime(2026, 3, 12, tzinfo=UTC),
        )
        f.CampaignSpendFactory(
            source=crm, campaign=spring, date=dt.date(2026, 3, 5), amount=Decimal("300.00")
        )
        for month, count in ((2, 1), (3, 2)):
            for j in range(count):
                customer = f.CustomerFactory(source=crm, acquisition_channel=search)
                f.SubscriptionEventFactory(
                    source=crm,
                    customer=customer,
                    occurred_on=dt.date(2026, month, 3 + j),
                    mrr_after=Decimal("100.00"),
                )
    return {
        "src": src,
        "departments": departments,
        "accounts": accounts,
        "channels": {"Search": search, "Email": email},
    }


@pytest.fixture
def company(db, settings):
    settings.FINHUB_REPORTING_CURRENCY = "USD"
    return make_company()


@pytest.fixture
def viewer_client(client, finance_viewer):
    client.force_login(finance_viewer)
    return client


@pytest.fixture
def nobody_client(client, no_role_user):
    client.force_login(no_role_user)
    return client


ROLE = roles.FINANCE_VIEWER
