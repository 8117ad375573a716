"""Spend anomalies, the services (metrics/anomalies.py): detection from the records, the
upsert that keeps dismissals, the links to the lines, the admin."""

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from metrics.anomalies import (
    anomalies_detect,
    anomalies_list,
    anomaly_dismiss,
    anomaly_lines_url,
    daily_window,
    weekly_window,
)
from metrics.models import SpendAnomaly
from records import models as m
from tests.factories import (
    AccountFactory,
    CampaignFactory,
    ConnectorFactory,
    DepartmentFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

TODAY = dt.date(2026, 11, 4)  # a Wednesday
SPEND_SPIKE = dt.date(2026, 10, 20)
EXPENSE_SPIKE_WEEK = dt.date(2026, 10, 12)  # a Monday
Kind = SpendAnomaly.Kind


def wobble(i: int) -> Decimal:
    """Deterministic noise in -6…+6."""
    return Decimal((i * 37) % 13 - 6)


def add_spend(source, campaign, amounts: dict[dt.date, Decimal], currency="USD") -> None:
    m.CampaignSpend.objects.bulk_create(
        m.CampaignSpend(
            source=source,
            external_id=f"{campaign.external_id}-{day}",
            campaign=campaign,
            campaign_external_id=campaign.external_id,
            date=day,
            amount=amount,
            currency_id=currency,
        )
        for day, amount in amounts.items()
    )


def daily_spend(end: dt.date, days: int, *, spike: dt.date | None = None) -> dict:
    amounts = {}
    for i in range(days):
        day = end - dt.timedelta(days=i)
        amounts[day] = (Decimal(200) if day.weekday() < 5 else Decimal(80)) + wobble(i)
    if spike:
        amounts[spike] += Decimal(400)
    return amounts


def add_weekly_lines(source, account, department, weeks: int, *, spike=None, base=1000):
    last_monday = weekly_window(TODAY)[2] - dt.timedelta(days=6)
    lines = []
    for i in range(weeks):
        monday = last_monday - dt.timedelta(weeks=i)
        amount = Decimal(base) + 5 * wobble(i) + (Decimal(4000) if monday == spike else 0)
        lines.append(
            m.GLLine(
                source=source,
                external_id=f"{account.code}-{department and department.pk}-{monday}",
                account=account,
                account_external_id=account.external_id,
                department=department,
                department_external_id=department.external_id if department else "",
                posting_date=monday + dt.timedelta(days=2),
                amount=amount,
                currency_id="USD",
            )
        )
    m.GLLine.objects.bulk_create(lines)


@pytest.fixture
def data():
    source = ConnectorFactory()
    spiky = CampaignFactory(source=source, name="Search brand", external_id="cmp-1")
    steady = CampaignFactory(source=source, name="Display", external_id="cmp-2")
    end = daily_window(TODAY)[2]
    add_spend(source, spiky, daily_spend(end, 200, spike=SPEND_SPIKE))
    add_spend(source, steady, daily_spend(end, 200))
    marketing = DepartmentFactory(source=source, name="Marketing", code="MKT")
    software = AccountFactory(source=source, code="6100", name="Software", type="expense")
    hosting = AccountFactory(source=source, code="5100", name="Hosting", type="cost_of_sales")
    revenue = AccountFactory(source=source, code="4000", name="Sales", type="revenue")
    add_weekly_lines(source, software, marketing, 60, spike=EXPENSE_SPIKE_WEEK)
    add_weekly_lines(source, hosting, None, 60)
    add_weekly_lines(source, revenue, marketing, 60, spike=EXPENSE_SPIKE_WEEK)  # not expense
    return {
        "source": source,
        "spiky": spiky,
        "marketing": marketing,
        "software": software,
        "hosting": hosting,
    }


def test_detection_finds_the_spend_spike_and_the_expense_spike_only(data):
    summary = anomalies_detect(today=TODAY)
    assert summary["campaign_series"] == 2 and summary["gl_series"] == 2
    assert summary["flagged"] == summary["new"] == 2 and summary["missing_fx"] == 0
    spend = SpendAnomaly.objects.get(kind=Kind.CAMPAIGN_SPEND)
    assert (spend.scope_key, spend.label, spend.campaign) == (
        "cmp-1",
        "Search brand",
        data["spiky"],
    )
    assert spend.period_start == spend.period_end == SPEND_SPIKE
    assert spend.currency == "USD" and spend.status == SpendAnomaly.Status.OPEN
    assert spend.low < spend.expected < spend.high < spend.actual
    assert spend.deviation == spend.actual - spend.expected
    assert Decimal(370) < spend.deviation < Decimal(430)
    assert spend.deviation_pct == (spend.deviation / spend.expected).quantize(Decimal("0.0001"))
    expense = SpendAnomaly.objects.get(kind=Kind.GL_EXPENSE)
    assert expense.scope_key == "MKT|6100"
    assert expense.label == "Marketing · 6100 Software"
    assert (expense.account, expense.department) == (data["software"], data["marketing"])
    assert expense.period_start == EXPENSE_SPIKE_WEEK
    assert expense.period_end == EXPENSE_SPIKE_WEEK + dt.timedelta(days=6)
    assert expense.score > Decimal("3.5")


def test_amounts_are_converted_and_those_without_a_rate_left_out(data):
    source, spiky = data["source"], data["spiky"]
    day = daily_window(TODAY)[2]
    m.FxRate.objects.create(
        source=source,
        external_id="eur",
        currency_id="EUR",
        quote_currency_id="USD",
        date=day,
        rate=Decimal("2"),
    )
    m.CampaignSpend.objects.create(
        source=source,
        external_id="eur-1",
        campaign=spiky,
        date=day,
        amount=Decimal("300"),
        currency_id="EUR",
    )  # 600 USD more on the last day: a second spike
    m.CampaignSpend.objects.create(
        source=source,
        external_id="eur-2",
        campaign=spiky,
        date=day - dt.timedelta(days=1),
        amount=Decimal("300"),
        currency_id="EUR",
    )  # no rate that day: left out and counted
    summary = anomalies_detect(today=TODAY)
    assert summary["missing_fx"] == 1
    last = SpendAnomaly.objects.get(kind=Kind.CAMPAIGN_SPEND, period_start=day)
    assert last.actual == daily_spend(day, 1)[day] + Decimal(600)


def test_redetection_updates_figures_keeps_dismissals_and_drops_what_is_gone(data):
    anomalies_detect(today=TODAY)
    user = UserFactory()
    spend = SpendAnomaly.objects.get(kind=Kind.CAMPAIGN_SPEND)
    anomaly_dismiss(spend, user=user, reason="Planned launch burst")
    # The spike grows, the expense spike is corrected in the ledger.
    m.CampaignSpend.objects.filter(campaign=data["spiky"], date=SPEND_SPIKE).update(
        amount=Decimal("900.00")
    )
    m.GLLine.objects.filter(
        account=data["software"], posting_date=EXPENSE_SPIKE_WEEK + dt.timedelta(days=2)
    ).update(amount=Decimal("1000.00"))
    summary = anomalies_detect(today=TODAY)
    assert summary["removed"] == 1 and summary["new"] == 0
    spend.refresh_from_db()
    assert spend.status == SpendAnomaly.Status.DISMISSED
    assert spend.dismiss_reason == "Planned launch burst" and spend.dismissed_by == user
    assert spend.actual == Decimal("900.00")
    assert not SpendAnomaly.objects.filter(kind=Kind.GL_EXPENSE).exists()
    assert list(anomalies_list()) == []
    assert list(anomalies_list(status=SpendAnomaly.Status.DISMISSED)) == [spend]
    # Dismissed and no longer flagged: kept.
    m.CampaignSpend.objects.filter(campaign=data["spiky"], date=SPEND_SPIKE).update(
        amount=Decimal("200.00")
    )
    anomalies_detect(today=TODAY)
    assert SpendAnomaly.objects.filter(pk=spend.pk, status="dismissed").exists()


def test_open_anomalies_older_than_the_window_are_kept(data):
    anomalies_detect(today=TODAY)
    later = TODAY + dt.timedelta(days=120)  # the spikes are now outside the reported windows
    anomalies_detect(today=later)
    assert SpendAnomaly.objects.count() == 2


def test_detection_reads_are_set_based(data, django_assert_max_num_queries):
    source = data["source"]
    end = daily_window(TODAY)[2]
    for _ in range(5):  # more series: the same number of queries
        add_spend(source, CampaignFactory(source=source), daily_spend(end, 60))
    with django_assert_max_num_queries(9):
        summary = anomalies_detect(today=TODAY)
    assert summary["campaign_series"] == 7


def test_dismiss_needs_a_reason(data):
    anomalies_detect(today=TODAY)
    anomaly = SpendAnomaly.objects.first()
    with pytest.raises(ValidationError) as error:
        anomaly_dismiss(anomaly, user=UserFactory(), reason="   ")
    assert "reason" in error.value.message_dict
    anomaly.refresh_from_db()
    assert anomaly.status == SpendAnomaly.Status.OPEN


def test_links_to_the_lines_behind(data, client, superuser, finance_viewer):
    anomalies_detect(today=TODAY)
    expense = SpendAnomaly.objects.get(kind=Kind.GL_EXPENSE)
    url = anomaly_lines_url(expense)
    assert url == (
        "/dashboards/drill/gl-lines/?period=custom&from=2026-10-12&to=2026-10-18"
        f"&account=6100&department={data['marketing'].pk}"
    )
    client.force_login(finance_viewer)
    page = client.get(url)
    assert page.status_code == 200
    # The spike week's line: 1,000 + 5 x wobble(2) + 4,000.
    assert "5,015.00" in page.content.decode()
    spend = SpendAnomaly.objects.get(kind=Kind.CAMPAIGN_SPEND)
    url = anomaly_lines_url(spend)
    assert url == (
        f"/admin/records/campaignspend/?campaign__id__exact={data['spiky'].pk}"
        "&date__gte=2026-10-20&date__lte=2026-10-20"
    )
    client.force_login(superuser)
    page = client.get(url)
    assert page.status_code == 200  # an unknown filter would redirect to ?e=1
    assert page.context["cl"].result_count == 1


def test_no_department_lines_link_with_no_department(data):
    expense = SpendAnomaly(
        kind=Kind.GL_EXPENSE,
        scope_key="|5100",
        account=data["hosting"],
        period_start=EXPENSE_SPIKE_WEEK,
        period_end=EXPENSE_SPIKE_WEEK + dt.timedelta(days=6),
    )
    assert anomaly_lines_url(expense).endswith("&account=5100&no_department=1")


def test_admin_lists_read_only_and_dismisses(data, client, superuser):
    anomalies_detect(today=TODAY)
    client.force_login(superuser)
    page = client.get("/admin/metrics/spendanomaly/")
    assert page.status_code == 200
    assert "Search brand" in page.content.decode()
    assert client.get("/admin/metrics/spendanomaly/add/").status_code == 403
    ids = list(SpendAnomaly.objects.values_list("pk", flat=True))
    response = client.post(
        "/admin/metrics/spendanomaly/",
        {"action": "dismiss", "_selected_action": ids, "reason": ""},
    )
    assert response.status_code == 302
    assert set(SpendAnomaly.objects.values_list("status", "dismiss_reason")) == {
        ("dismissed", "dismissed in the admin by root")
    }
