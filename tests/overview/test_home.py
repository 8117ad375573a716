"""The home page answers the person logged in, one section per role (issue #18, 12)."""

import datetime
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from finhub.core import roles
from roadmap.models import ChecklistItem
from roadmap.services import measurement_record, programme_load
from tests.factories import PullConnectorFactory, RejectedRecordFactory, UserFactory
from tests.overview.home_data import store_home_snapshots

pytestmark = pytest.mark.django_db

HOME = reverse("home")
SECTIONS = ("home-finance", "home-rollout", "home-integration")


def sections(body: str) -> set[str]:
    return {name for name in SECTIONS if f'id="{name}"' in body}


@pytest.fixture
def data(db):
    """Figures, a programme with overdue and blocked items and a measured metric, one fresh,
    one failing and one never-synced source, and open rejected records."""
    store_home_snapshots()
    programme_load(start_date=timezone.localdate() - datetime.timedelta(weeks=6))
    ChecklistItem.objects.filter(key="p2-cac-monitoring").update(status="blocked")
    measurement_record(metric_key="api_reliability", value=Decimal("99.8"), source="auto:test")
    now = timezone.now()
    PullConnectorFactory(name="Sandbox ERP", kind="erp", last_success_at=now)
    failing = PullConnectorFactory(
        name="Sandbox CRM", kind="crm", last_success_at=now, consecutive_failures=2
    )
    PullConnectorFactory(name="Sandbox Billing", kind="billing")
    for _ in range(3):
        RejectedRecordFactory(source=failing, entity="deals")
    RejectedRecordFactory(source=failing, entity="contacts")
    RejectedRecordFactory(source=failing, entity="contacts", status="dismissed")


def test_a_finance_viewer_sees_the_headline_figures_with_trend_and_freshness(
    client, data, finance_viewer
):
    client.force_login(finance_viewer)
    body = client.get(HOME).content.decode()
    assert sections(body) == {"home-finance"}
    assert "USD 1,200,000.00" in body  # revenue, year to date
    assert "+25.0% vs budget (960,000.00)" in body
    assert "USD 400,000.00" in body  # operating income
    assert "Operating margin 33.3%" in body
    assert "USD 130,000.00" in body and "+8.3% vs" in body  # MRR vs the month before
    assert "USD 18,250.50" in body and "LTV:CAC 3.40" in body  # last complete month
    assert body.count('class="sparkline"') == 4
    assert "Revenue per month, last 12 months" in body
    assert "Computed " in body and "data to " in body
    assert "2 of 3 sources not fresh" in body
    assert reverse("docs-metrics") in body


def test_a_project_manager_sees_rollout_overdue_items_and_scorecard(client, data, project_manager):
    client.force_login(project_manager)
    body = client.get(HOME).content.decode()
    assert sections(body) == {"home-rollout"}
    assert "Week 7 of 16" in body
    assert "Phase 2, Marketing &amp; sales ROI integration" in body
    assert 'id="home-overdue-count">8<' in body  # 4 preparation + 4 phase 1 items
    assert "CAC monitoring in production" in body  # blocked
    assert 'id="home-scorecard"' in body
    assert "API reliability (uptime)" in body and "99.8%" in body


def test_an_integration_admin_sees_failing_or_stale_sources_and_rejected_records(
    client, data, integration_admin
):
    client.force_login(integration_admin)
    body = client.get(HOME).content.decode()
    assert sections(body) == {"home-integration"}
    assert 'id="home-sources-count">2<' in body
    assert "Sandbox CRM" in body and "Sandbox Billing" in body
    assert "Sandbox ERP" not in body  # fresh: nothing to do
    assert 'id="home-rejects-count">4<' in body  # the dismissed one is not waiting
    assert "?status__exact=open" in body


def test_someone_with_several_roles_sees_each_section(client, data):
    user = UserFactory(roles=[roles.FINANCE_VIEWER, roles.INTEGRATION_ADMIN])
    client.force_login(user)
    assert sections(client.get(HOME).content.decode()) == {"home-finance", "home-integration"}
    client.force_login(UserFactory(username="root", is_superuser=True))
    assert sections(client.get(HOME).content.decode()) == set(SECTIONS)


def test_without_a_role_the_page_says_so(client, no_role_user):
    client.force_login(no_role_user)
    body = client.get(HOME).content.decode()
    assert sections(body) == set()
    assert "no FinHub role yet" in body


def page_queries(client) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(HOME).status_code == 200
    return len(queries)


# Session, user, roles (3) and the menu's permissions (2), the header's alert bell (1), plus
# per section: finance 2 (snapshots, sources), rollout the roadmap dashboard's 9,
# integration 2 (sources, rejects).
@pytest.mark.parametrize(
    ("who", "most"),
    [("finance_viewer", 8), ("project_manager", 15), ("integration_admin", 8)],
)
def test_each_role_costs_a_fixed_number_of_queries(client, data, request, who, most):
    client.force_login(request.getfixturevalue(who))
    client.get(HOME)  # a first visit may compute a missing snapshot
    small = page_queries(client)
    assert small <= most
    # More of everything: the same number of queries.
    for number in range(5):
        source = PullConnectorFactory(name=f"More {number}", kind="crm", consecutive_failures=1)
        RejectedRecordFactory(source=source, entity="invoices")
    for number in range(5):
        ChecklistItem.objects.create(
            programme=ChecklistItem.objects.first().programme,
            kind="pre_implementation",
            key=f"more-{number}",
            title=f"More {number}",
            due_date=timezone.localdate() - datetime.timedelta(days=3),
        )
    assert page_queries(client) == small
