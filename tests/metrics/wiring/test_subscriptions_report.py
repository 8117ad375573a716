"""The subscriptions and cohorts reports on the database, hand-worked (retention_data.py), and
the saas_metrics command giving the same table on the same data as files."""

import csv
import io
from decimal import Decimal

import pytest
from django.core.management import call_command

from metrics.reports.cohorts import cohorts_report
from metrics.reports.subscriptions import subscription_customers_report, subscriptions_report
from tests import factories as f
from tests.metrics.wiring.retention_data import day, subscriptions_dataset

pytestmark = pytest.mark.django_db


@pytest.fixture
def data(settings):
    settings.FINHUB_REPORTING_CURRENCY = "USD"
    settings.FINHUB_GROSS_MARGIN = Decimal("0.80")
    return subscriptions_dataset()


def months(report: dict) -> dict:
    return {row["month"]: row for row in report["months"]}


def test_mrr_movements_per_month(data):
    rows = months(subscriptions_report(start=day(1, 1), end=day(3, 31)))
    jan, feb, mar = rows["2026-01-01"], rows["2026-02-01"], rows["2026-03-01"]
    assert (jan["starting_mrr"], jan["new_mrr"], jan["ending_mrr"]) == ("0.00", "300.00", "300.00")
    assert jan["logo_churn_rate"] == "undefined"  # no customer at the start
    assert jan["nrr_month"] == "undefined"
    # Feb: C new at 80 (two events on one day: the last counts), A +50, B churns 200.
    assert [feb[k] for k in ("new_mrr", "expansion_mrr", "churned_mrr", "net_new_mrr")] == [
        "80.00",
        "50.00",
        "200.00",
        "-70.00",
    ]
    assert feb["nrr_month"] == "0.5000000000"  # (300 + 50 - 200) / 300
    assert feb["grr_month"] == "0.3333333333"  # (300 - 200) / 300
    assert feb["arpa"] == "115.00"
    # Mar: D new 110 (EUR 100 at 1.10), B reactivates at 250, A -30, C churns 80.
    assert [
        mar[k]
        for k in (
            "starting_mrr",
            "new_mrr",
            "reactivation_mrr",
            "contraction_mrr",
            "churned_mrr",
            "net_new_mrr",
            "ending_mrr",
        )
    ] == ["230.00", "110.00", "250.00", "30.00", "80.00", "250.00", "480.00"]
    assert (mar["customers_start"], mar["new_customers"], mar["reactivated_customers"]) == (2, 1, 1)
    assert (mar["churned_customers"], mar["customers_end"]) == (1, 3)
    assert mar["nrr_month"] == "0.5217391304"  # (230 - 30 - 80) / 230
    assert mar["arpa"] == "160.00"
    # Blended CAC = ledger S&M cost / new customers (B reactivated: not new).
    assert (jan["blended_cac"], feb["blended_cac"], mar["blended_cac"]) == (
        "500.00",
        "600.00",
        "900.00",
    )
    # Paid CAC = Search spend / new Search customers; March: none, undefined.
    assert (jan["paid_cac"], feb["paid_cac"], mar["paid_cac"]) == ("400.00", "0.00", "undefined")
    assert feb["ltv"] == "184.00"  # 115 x 0.8 / 0.5
    assert mar["cac_payback_months"] == "7.0312500000"  # 900 / (160 x 0.8)


def test_the_customers_behind_every_movement(data):
    report = subscription_customers_report(start=day(3, 1), end=day(3, 31))
    (mar,) = report["months"]
    assert mar["month"] == "2026-03-01"
    named = {
        movement: [(c["name"], c["amount"]) for c in customers]
        for movement, customers in mar["customers"].items()
    }
    assert named == {
        "new": [("D", "110.00")],
        "reactivation": [("B", "250.00")],
        "expansion": [],
        "contraction": [("A", "30.00")],
        "churned": [("C", "80.00")],
    }
    first = mar["customers"]["new"][0]
    assert first["id"] == data["customers"]["D"].pk
    assert first["external_id"] == data["customers"]["D"].external_id
    # The page's report keeps only how many: the lists are megabytes at scale.
    counts = months(subscriptions_report(start=day(3, 1), end=day(3, 31)))["2026-03-01"]
    assert "customers" not in counts
    assert counts["movement_counts"] == {
        "new": 1,
        "reactivation": 1,
        "expansion": 0,
        "contraction": 1,
        "churned": 1,
    }


def test_segment_and_channel_filters(data):
    smb = months(subscriptions_report(start=day(1, 1), end=day(3, 31), segment="SMB"))
    assert [row["ending_mrr"] for row in smb.values()] == ["100.00", "230.00", "120.00"]
    # Sales and marketing cost is not split by segment: no CAC, never a misleading figure.
    assert {row["blended_cac"] for row in smb.values()} == {"undefined"}
    email = subscriptions_report(start=day(1, 1), end=day(3, 31), channel="Email")
    assert [row["ending_mrr"] for row in email["months"]] == ["200.00", "0.00", "250.00"]
    assert email["months"][0]["blended_cac"] == "0.00"  # no Email spend, one new customer


def test_missing_fx_is_listed_not_dropped_silently(data, settings):
    f.SubscriptionEventFactory(
        source=data["source"],
        customer=data["customers"]["A"],
        occurred_on=day(3, 25),
        mrr_after=Decimal("90.00"),
        currency_id="GBP",
    )
    report = subscriptions_report(start=day(3, 1), end=day(3, 31))
    assert report["missing_fx"] == [{"currency": "GBP", "date": "2026-03-25", "amount": "90.00"}]
    assert report["reporting_currency"] == "USD"


def test_cohorts(data):
    report = cohorts_report(start=day(1, 1), end=day(3, 31))
    cohorts = {row["cohort"]: row for row in report["cohorts"]}
    jan = cohorts["2026-01-01"]
    assert (jan["customers"], jan["start_mrr"]) == (2, "300.00")
    assert jan["logo"] == ["1.0000000000", "0.5000000000", "1.0000000000"]
    # B comes back at 250: A120 + B250 = 370 / 300.
    assert jan["revenue"] == ["1.0000000000", "0.5000000000", "1.2333333333"]
    assert cohorts["2026-02-01"]["logo"] == ["1.0000000000", "0.0000000000"]
    assert cohorts["2026-03-01"]["revenue"] == ["1.0000000000"]
    assert report["max_months"] == 2
    # Cohorts before the period are not rows of it.
    assert [
        row["cohort"] for row in cohorts_report(start=day(2, 1), end=day(3, 31))["cohorts"]
    ] == [
        "2026-02-01",
        "2026-03-01",
    ]


def test_report_reads_are_bounded(data, django_assert_max_num_queries):
    # 8 reads, and whether the ledger pre-aggregates of the months are valid (they are not
    # built here: the ledger cost is read from the lines).
    with django_assert_max_num_queries(9):
        subscriptions_report(start=day(1, 1), end=day(3, 31))
    for n in range(5):
        customer = f.CustomerFactory(source=data["source"], segment="SMB")
        f.SubscriptionEventFactory(
            source=data["source"], customer=customer, occurred_on=day(2, n + 1)
        )
    with django_assert_max_num_queries(9):
        subscriptions_report(start=day(1, 1), end=day(3, 31))
    with django_assert_max_num_queries(4):
        cohorts_report(start=day(1, 1), end=day(3, 31))


def _write(tmp_path, name: str, header: str, rows: list[str]):
    path = tmp_path / name
    path.write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
    return str(path)


def test_the_command_on_files_equals_the_database_path(data, tmp_path):
    """The same data as files (D's EUR event at its converted value; the ledger cost not
    spent through Search as unallocated) gives the same table as the database report."""
    events = _write(
        tmp_path,
        "events.csv",
        "customer_id,effective_date,mrr_after,event",
        [
            "A,2026-01-10,100.00,new",
            "A,2026-02-15,150.00,expansion",
            "A,2026-03-05,120.00,contraction",
            "B,2026-01-20,200.00,new",
            "B,2026-02-10,0.00,churn",
            "B,2026-03-20,250.00,reactivation",
            "C,2026-02-05,50.00,new",
            "C,2026-02-05,80.00,expansion",
            "C,2026-03-31,0.00,churn",
            "D,2026-03-15,110.00,new",
        ],
    )
    acquisition = _write(
        tmp_path,
        "acquisition.csv",
        "customer_id,acquired_month,channel",
        ["A,2026-01,Search", "B,2026-01,Email", "C,2026-02,Search"],
    )
    costs = _write(
        tmp_path,
        "costs.csv",
        "month,channel,sales_and_marketing_cost",
        [
            "2026-01,Search,400.00",
            "2026-01,,600.00",
            "2026-02,,600.00",
            "2026-03,Search,300.00",
            "2026-03,,600.00",
        ],
    )
    out = io.StringIO()
    call_command(
        "saas_metrics",
        events=events,
        acquisition=acquisition,
        costs=costs,
        gross_margin="0.80",
        paid_channels="Search",
        stdout=out,
    )
    from_files = list(csv.DictReader(io.StringIO(out.getvalue())))
    report = subscriptions_report(start=day(1, 1), end=day(3, 31))
    from_db = [
        {
            column: (
                row["month"][:7]
                if column == "month"
                else ""
                if row[column] == "undefined"
                else str(row[column])
            )
            for column in report["columns"]
        }
        for row in report["months"]
    ]
    assert len(from_files) == 3
    assert from_db == from_files
