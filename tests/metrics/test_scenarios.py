"""Budget scenarios through the database: copy, drivers, comparison (hand-worked numbers).

The company of every test: FY2026 budget (current) with, each month, revenue 1,000.00 on
4000, 200.00 paid-search spend on 6210 (S&M, campaign of the paid channel "Paid Search"),
300.00 sales salaries on 6100 (S&M, department SAL) and 500.00 R&D salaries on 6300 (ENG).
Today is 15 July 2026: January to June are closed, July to December remain.
"""

import datetime as dt
from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction

from metrics import selectors
from metrics.reports.budget import budget_report
from metrics.scenarios import (
    default_from_month,
    scenario_apply_drivers,
    scenario_comparison,
    scenario_create,
    scenarios_connector,
    scenarios_list,
)
from records import models as m
from tests import factories as f

pytestmark = pytest.mark.django_db
TODAY = dt.date(2026, 7, 15)
MONTHS = [dt.date(2026, month, 1) for month in range(1, 13)]


@pytest.fixture
def company(settings):
    settings.FINHUB_REPORTING_CURRENCY = "USD"
    settings.FINHUB_DEFAULT_ATTRIBUTION_MODEL = "linear"
    src = f.ConnectorFactory(name="erp")
    accounts = {
        "4000": f.AccountFactory(source=src, code="4000", type="revenue"),
        "6210": f.AccountFactory(source=src, code="6210", is_sales_marketing=True),
        "6100": f.AccountFactory(source=src, code="6100", is_sales_marketing=True),
        "6300": f.AccountFactory(source=src, code="6300"),
    }
    sales = f.DepartmentFactory(source=src, code="SAL", name="Sales")
    eng = f.DepartmentFactory(source=src, code="ENG", name="Engineering")
    channel = f.ChannelFactory(source=src, name="Paid Search", is_paid=True)
    campaign = f.CampaignFactory(source=src, channel=channel)
    budget = f.BudgetFactory(source=src, name="FY2026 Budget", is_current=True)
    for month in MONTHS:
        for code, amount, extra in (
            ("4000", "1000.00", {}),
            ("6210", "200.00", {"campaign": campaign}),
            ("6100", "300.00", {"department": sales}),
            ("6300", "500.00", {"department": eng}),
        ):
            f.BudgetLineFactory(
                source=src,
                budget=budget,
                account=accounts[code],
                month=month,
                amount=Decimal(amount),
                **extra,
            )
    return {"src": src, "budget": budget, "accounts": accounts, "campaign": campaign}


def lines(budget) -> dict[tuple[str, dt.date], Decimal]:
    return {
        (code, month): amount
        for code, month, amount in m.BudgetLine.objects.filter(budget=budget).values_list(
            "account__code", "month", "amount"
        )
    }


def test_copy_is_exact_and_labelled(company, django_assert_max_num_queries):
    base = company["budget"]
    with django_assert_max_num_queries(15):  # set-based: 48 lines, not a query per line
        scenario = scenario_create(base_budget=base, name="Aggressive", user=None)
    assert scenario.kind == m.Budget.Kind.SCENARIO
    assert not scenario.is_current
    assert scenario.based_on == base
    assert scenario.source == scenarios_connector()
    assert scenario.external_id == f"SCN-{scenario.pk}"
    assert scenario.version_label == "Scenario: Aggressive"
    assert str(scenario) == "Scenario: Aggressive (FY2026)"
    assert lines(scenario) == lines(base)
    assert len(lines(scenario)) == 48
    copied = m.BudgetLine.objects.filter(budget=scenario, account__code="6210").first()
    assert copied.campaign == company["campaign"]


def test_default_name_counts_the_scenarios_of_the_version(company, django_assert_num_queries):
    base = company["budget"]
    first = scenario_create(base_budget=base, name="", user=None)
    second = scenario_create(base_budget=base, name="", user=None)
    assert (first.name, second.name) == ("FY2026 Budget scenario 1", "FY2026 Budget scenario 2")
    assert first.version != second.version
    with django_assert_num_queries(1):
        listed = scenarios_list(fiscal_year=2026)
    assert [row["id"] for row in listed] == [second.pk, first.pk]
    assert listed[0]["label"] == "Scenario: FY2026 Budget scenario 2"
    assert listed[0]["based_on_id"] == base.pk
    assert scenarios_list(fiscal_year=2025) == []


def test_drivers_change_the_lines_from_their_month_and_are_idempotent(company):
    scenario = scenario_create(base_budget=company["budget"], name="S", user=None)
    july = dt.date(2026, 7, 1)
    for kind, target, percent in (
        ("growth", "revenue", "10"),  # an account type
        ("growth", "63", "-10"),  # an account code prefix
        ("headcount", "SAL", "20"),  # 6100 is a headcount account
        ("headcount", "Engineering", "0"),
        ("growth", "expense", "10"),  # multiplies with the headcount driver on 6100
    ):
        m.ScenarioDriver.objects.create(
            scenario=scenario, kind=kind, target=target, percent=Decimal(percent)
        )
    scenario_apply_drivers(scenario, today=TODAY)
    first = lines(scenario)
    scenario_apply_drivers(scenario, today=TODAY)
    assert lines(scenario) == first  # re-applying gives the same lines
    assert first[("4000", july)] == Decimal("1100.00")
    assert first[("6300", july)] == Decimal("495.00")  # 500 x 0.9 x 1.1
    assert first[("6100", july)] == Decimal("396.00")  # 300 x 1.2 x 1.1
    assert first[("6210", july)] == Decimal("220.00")  # expense +10%, no channel driver
    june = dt.date(2026, 6, 1)  # closed: untouched
    assert [first[(code, june)] for code in ("4000", "6210", "6100", "6300")] == [
        Decimal("1000.00"),
        Decimal("200.00"),
        Decimal("300.00"),
        Decimal("500.00"),
    ]


def test_a_driver_from_a_given_month_and_rounding_to_cents(company):
    base = company["budget"]
    m.BudgetLine.objects.filter(budget=base, account__code="4000").update(amount=Decimal("333.33"))
    scenario = scenario_create(base_budget=base, name="S", user=None)
    m.ScenarioDriver.objects.create(
        scenario=scenario,
        kind="growth",
        target="4",
        percent=Decimal("10"),
        from_month=dt.date(2026, 11, 1),
    )
    scenario_apply_drivers(scenario, today=TODAY)
    result = lines(scenario)
    assert result[("4000", dt.date(2026, 10, 1))] == Decimal("333.33")
    assert result[("4000", dt.date(2026, 11, 1))] == Decimal("366.66")  # 366.663


def test_default_from_month_is_the_month_after_the_last_closed_one():
    assert default_from_month(TODAY) == dt.date(2026, 7, 1)


def test_a_scenario_can_never_be_current(company):
    scenario = scenario_create(base_budget=company["budget"], name="S", user=None)
    scenario.is_current = True
    with pytest.raises(IntegrityError), transaction.atomic():
        scenario.save()


def test_budget_vs_actual_ignores_scenarios_unless_chosen(company):
    base = company["budget"]
    scenario = scenario_create(base_budget=base, name="S", user=None)
    m.ScenarioDriver.objects.create(
        scenario=scenario, kind="growth", target="revenue", percent=Decimal("50")
    )
    scenario_apply_drivers(scenario, today=TODAY)
    year = {"start": dt.date(2026, 1, 1), "end": dt.date(2026, 12, 31)}
    assert selectors.budget_versions(**year, budget_id=None) == [base.pk]

    def revenue_budget(**kwargs):
        report = budget_report(**year, group_by="account_type", today=TODAY, **kwargs)
        assert report["budget_versions"] == [kwargs.get("budget", base.pk)]
        return next(r["budget"] for r in report["rows"] if r["account_type"] == "revenue")

    assert revenue_budget() == "12000.00"
    assert revenue_budget(budget=scenario.pk) == "15000.00"  # 6 x 1000 + 6 x 1500


@pytest.fixture
def history(company):
    """Actuals: revenue 1,100.00 and paid-search cost 250.00 (GL, 6210) each closed month;
    campaign spend 100.00 a month from July 2025; new customers: 1 a month July-December
    2025, 2 a month January-June 2026; one won deal of 2,400.00 in March 2026 whose only
    touchpoint is on Paid Search."""
    src, campaign = company["src"], company["campaign"]
    for month in MONTHS[:6]:
        day = month.replace(day=15)
        f.GLLineFactory(
            source=src, account=company["accounts"]["4000"], posting_date=day, amount="1100.00"
        )
        f.GLLineFactory(
            source=src, account=company["accounts"]["6210"], posting_date=day, amount="250.00"
        )
    for offset in range(12):  # July 2025 .. June 2026
        month = dt.date(2025 + (6 + offset) // 12, (6 + offset) % 12 + 1, 1)
        f.CampaignSpendFactory(
            source=src, campaign=campaign, date=month.replace(day=5), amount="100.00"
        )
        for _ in range(1 if month.year == 2025 else 2):
            customer = f.CustomerFactory(source=src)
            f.SubscriptionEventFactory(
                source=src, customer=customer, occurred_on=month.replace(day=10)
            )
    contact = f.ContactFactory(source=src)
    f.TouchpointFactory(
        source=src,
        contact=contact,
        channel=campaign.channel,
        occurred_at=dt.datetime(2026, 3, 10, tzinfo=dt.UTC),
    )
    f.DealFactory(
        source=src,
        contact=contact,
        amount=Decimal("2400.00"),
        opened_at=dt.datetime(2026, 3, 1, tzinfo=dt.UTC),
        closed_at=dt.datetime(2026, 3, 20, tzinfo=dt.UTC),
    )
    return company


def rows_by_key(result: dict) -> dict[str, dict]:
    return {row["key"]: row for row in result["rows"]}


def test_a_channel_spend_change_moves_cac_and_roi_as_computed_by_hand(history):
    scenario = scenario_create(base_budget=history["budget"], name="More search", user=None)
    m.ScenarioDriver.objects.create(
        scenario=scenario, kind="channel_spend", target="Paid Search", percent=Decimal("50")
    )
    scenario_apply_drivers(scenario, today=TODAY)
    result = scenario_comparison(scenario_id=scenario.pk, today=TODAY)
    rows = rows_by_key(result)
    # S&M cost: closed 6 x 250 = 1,500; remaining 6 x (200 + 300) = 3,000 (current) and
    # 6 x (300 + 300) = 3,600 (scenario). New customers: 12 closed + 6 x the trailing
    # average (6 x 1 + 6 x 2) / 12 = 1.5 -> 21.
    assert rows["cac.sales_marketing_cost"]["current"] == "4500.00"
    assert rows["cac.sales_marketing_cost"]["scenario"] == "5100.00"
    assert rows["cac.new_customers"]["current"] == "21.00"
    assert rows["cac.blended"]["current"] == "214.29"  # 4,500 / 21
    assert rows["cac.blended"]["scenario"] == "242.86"  # 5,100 / 21
    assert rows["cac.blended"]["difference"] == "28.57"  # 600 / 21
    # Paid Search: trailing revenue per unit of spend 2,400 / 1,200 = 2. Current: cost 600
    # + 1,200 = 1,800, revenue 2,400 + 2 x 1,200 = 4,800, ROI 3,000 / 1,800. Scenario: cost
    # 600 + 1,800 = 2,400, revenue 2,400 + 3,600 = 6,000, ROI 3,600 / 2,400.
    assert rows["spend.Paid Search"]["current"] == "1800.00"
    assert rows["spend.Paid Search"]["scenario"] == "2400.00"
    assert rows["roi.Paid Search"]["current"] == "166.67"
    assert rows["roi.Paid Search"]["scenario"] == "150.00"
    assert rows["roi.Paid Search"]["unit"] == "percent"
    assert any("trailing 12-month average (1.50 a month)" in note for note in result["notes"])


def test_comparison_rows_budget_outturn_and_variance(history):
    base = history["budget"]
    scenario = scenario_create(base_budget=base, name="More search", user=None)
    m.ScenarioDriver.objects.create(
        scenario=scenario, kind="channel_spend", target="paid search", percent=Decimal("50")
    )
    scenario_apply_drivers(scenario, today=TODAY)
    result = scenario_comparison(scenario_id=scenario.pk, today=TODAY)
    assert result["scenario"] == {
        "id": scenario.pk,
        "name": "More search",
        "label": "Scenario: More search",
        "fiscal_year": 2026,
        "based_on_id": base.pk,
        "based_on_label": str(base),
    }
    assert result["current"] == {"id": base.pk, "label": "FY2026 Budget FY2026 Original"}
    assert result["drivers"] == [
        {
            "kind": "channel_spend",
            "kind_label": "Spend of a channel",
            "target": "paid search",
            "percent": "50.00",
            "from_month": "2026-07-01",
        }
    ]
    rows = rows_by_key(result)

    def values(key):
        return rows[key]["current"], rows[key]["scenario"], rows[key]["difference"]

    assert values("budget.revenue") == ("12000.00", "12000.00", "0.00")
    assert values("budget.expenses") == ("12000.00", "12600.00", "600.00")
    assert values("budget.operating_income") == ("0.00", "-600.00", "-600.00")
    # Outturn: revenue 6 x 1,100 + 6 x 1,000; expenses 6 x 250 + 6 x 1,000 (1,100 scenario).
    assert values("outturn.revenue") == ("12600.00", "12600.00", "0.00")
    assert values("outturn.expenses") == ("7500.00", "8100.00", "600.00")
    assert values("outturn.operating_income") == ("5100.00", "4500.00", "-600.00")
    # Against the current version's full-year budget.
    assert values("variance.revenue") == ("600.00", "600.00", "0.00")
    assert values("variance.expenses") == ("-4500.00", "-3900.00", "600.00")
    assert values("variance_pct.revenue") == ("5.00", "5.00", "0.00")
    assert values("variance_pct.operating_income") == (None, None, None)  # budget 0


def test_comparison_query_count_does_not_grow_with_lines(history, django_assert_max_num_queries):
    scenario = scenario_create(base_budget=history["budget"], name="S", user=None)
    with django_assert_max_num_queries(40):
        scenario_comparison(scenario_id=scenario.pk, today=TODAY)


def test_ingestion_refuses_the_scenarios_source(company):
    from records.ingestion.services import Actor, ingest_records

    scenario = scenario_create(base_budget=company["budget"], name="S", user=None)
    actor = Actor(user=None, request_id="", via="api")
    line = {
        "external_id": "X-1",
        "budget": scenario.external_id,
        "account": company["accounts"]["4000"].external_id,
        "month": "2026-08-01",
        "amount": "1.00",
        "currency": "USD",
    }
    result = ingest_records(
        source=scenario.source, entity="budget_lines", records=[line], actor=actor
    )
    assert (result.created, result.rejected) == (0, 1)
    budget = {"external_id": scenario.external_id, "name": "X", "fiscal_year": 2026}
    result = ingest_records(source=scenario.source, entity="budgets", records=[budget], actor=actor)
    assert (result.created, result.updated, result.rejected) == (0, 0, 1)
    scenario.refresh_from_db()
    assert scenario.name == "S"
