"""Budget scenarios in the Budget admin: copy, the driver inline, apply, the kind label."""

import datetime as dt
from decimal import Decimal

import pytest
from django.urls import reverse

from metrics.scenarios import scenario_create
from records import models as m
from tests import factories as f

pytestmark = pytest.mark.django_db
CHANGELIST = "admin:records_budget_changelist"


@pytest.fixture
def budget(db):
    src = f.ConnectorFactory(name="erp")
    revenue = f.AccountFactory(source=src, code="4000", type="revenue")
    plan = f.BudgetFactory(source=src, name="FY2026 Budget")
    for month in range(1, 13):
        f.BudgetLineFactory(
            source=src,
            budget=plan,
            account=revenue,
            month=dt.date(2026, month, 1),
            amount=Decimal("1000.00"),
        )
    return plan


def test_copy_into_a_scenario_asks_a_name_then_copies(client, superuser, budget):
    client.force_login(superuser)
    url = reverse(CHANGELIST)
    chosen = {"action": "copy_into_scenario", "_selected_action": [budget.pk]}
    page = client.post(url, chosen)
    assert page.status_code == 200
    assert b"Copy into a scenario" in page.content
    assert not m.Budget.objects.filter(kind="scenario").exists()
    done = client.post(url, {**chosen, "confirm": "yes", "name": "Bold"})
    assert done.status_code == 302
    scenario = m.Budget.objects.get(kind="scenario")
    assert (scenario.name, scenario.based_on, scenario.created_by) == ("Bold", budget, superuser)
    assert m.BudgetLine.objects.filter(budget=scenario).count() == 12


def test_the_list_labels_scenarios_and_filters_by_kind(client, superuser, budget):
    scenario = scenario_create(base_budget=budget, name="Bold", user=None)
    client.force_login(superuser)
    page = client.get(reverse(CHANGELIST))
    assert b"Scenario: Bold" in page.content
    only = client.get(reverse(CHANGELIST), {"kind__exact": "scenario"})
    listed = list(only.context["cl"].result_list)
    assert listed == [scenario]


def test_saving_drivers_on_a_scenario_page_recomputes_its_lines(client, superuser, budget):
    scenario = scenario_create(base_budget=budget, name="Bold", user=None)
    client.force_login(superuser)
    url = reverse("admin:records_budget_change", args=[scenario.pk])
    assert b"Scenario: Bold" in client.get(url).content
    response = client.post(
        url,
        {
            "drivers-TOTAL_FORMS": "1",
            "drivers-INITIAL_FORMS": "0",
            "drivers-MIN_NUM_FORMS": "0",
            "drivers-MAX_NUM_FORMS": "1000",
            "drivers-0-kind": "growth",
            "drivers-0-target": "revenue",
            "drivers-0-percent": "10",
            "drivers-0-from_month": "2026-12-01",
            "_save": "Save",
        },
    )
    assert response.status_code == 302, response.content[:2000]
    assert scenario.drivers.count() == 1
    december = m.BudgetLine.objects.get(budget=scenario, month=dt.date(2026, 12, 1))
    november = m.BudgetLine.objects.get(budget=scenario, month=dt.date(2026, 11, 1))
    assert (november.amount, december.amount) == (Decimal("1000.00"), Decimal("1100.00"))
    scenario.refresh_from_db()
    assert scenario.name == "Bold" and not scenario.is_current


def test_apply_drivers_action(client, superuser, budget):
    scenario = scenario_create(base_budget=budget, name="Bold", user=None)
    m.ScenarioDriver.objects.create(
        scenario=scenario,
        kind="growth",
        target="4000",
        percent=Decimal("-100"),
        from_month=dt.date(2026, 1, 1),
    )
    client.force_login(superuser)
    response = client.post(
        reverse(CHANGELIST), {"action": "apply_drivers", "_selected_action": [scenario.pk]}
    )
    assert response.status_code == 302
    amounts = set(m.BudgetLine.objects.filter(budget=scenario).values_list("amount", flat=True))
    assert amounts == {Decimal("0.00")}


def test_a_plan_version_keeps_the_engine_form(client, superuser, budget):
    client.force_login(superuser)
    page = client.get(reverse("admin:records_budget_change", args=[budget.pk]))
    assert page.status_code == 200
    assert b'name="is_current"' in page.content
    assert b"drivers-TOTAL_FORMS" not in page.content
