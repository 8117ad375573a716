"""The incremental recompute (metrics/incremental.py) equals a full recompute.

A small company (Jan-Jun 2026, reporting currency USD, some EUR at daily rates) is written
through the ingestion engine; a set of snapshots over several periods is stored; random
changes go through the same write path (creates, updates moving rows to another month,
hard and soft deletes, FX rate changes, a customer's segment); the incremental recompute
runs; every stored snapshot must then equal its report computed from scratch.
"""

from __future__ import annotations

import datetime as dt
import json

import pytest
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.test import override_settings
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from connectors.models import SyncRun
from metrics import incremental, ledger_aggregates, tasks
from metrics.ledger_aggregates import ledger_aggregates_refresh
from metrics.models import ChangedMonth, LedgerDirtyMonth, MetricSnapshot, RecomputeRequest
from metrics.params import attribution_params, budget_params, period_params, subscriptions_params
from metrics.snapshots import COMPUTERS, Kind, snapshots_recompute
from records import models as m
from records.ingestion.deletes import records_soft_delete
from records.ingestion.services import Actor, ingest_records, records_delete
from records.signals import records_synced
from tests import factories as f

pytestmark = pytest.mark.django_db
ACTOR = Actor(via="api")
EUR_DAYS = [dt.date(2026, month, 10) for month in range(1, 7)]
ACCOUNTS = ["REV", "COGS", "MKT", "ENG"]


def day(month: int, d: int = 10) -> dt.date:
    return dt.date(2026, month, d)


def moment(month: int, d: int = 10, hour: int = 12) -> str:
    return dt.datetime(2026, month, d, hour, tzinfo=dt.UTC).isoformat()


def write(source, entity: str, records: list[dict]) -> None:
    result = ingest_records(source=source, entity=entity, records=records, actor=ACTOR)
    assert not result.errors, result.errors


def gl(ext: str, month: int, amount: str, account: str, currency: str = "USD", **kw) -> dict:
    department = {"REV": "SALES", "MKT": "SALES", "COGS": "CS", "ENG": "ENG"}[account]
    return {
        "external_id": ext,
        "account": account,
        "department": department,
        "posting_date": day(month, 10 if currency == "EUR" else 15).isoformat(),
        "amount": amount,
        "currency": currency,
        **kw,
    }


def deal(ext: str, contact: str, month: int, amount: str, currency: str = "USD") -> dict:
    return {
        "external_id": ext,
        "contact": contact,
        "customer": "K1",
        "amount": amount,
        "currency": currency,
        "status": "won",
        "created_at": moment(1, 2),
        "closed_at": moment(month, 10),
        "rep": "R1",
        "campaign": "C1",
    }


def company(source) -> None:
    write(source, "fx_rates", [fx(d, "1.10") for d in EUR_DAYS])
    write(
        source,
        "departments",
        [
            {"external_id": "SALES", "name": "Sales"},
            {"external_id": "CS", "name": "Customer Success"},
            {"external_id": "ENG", "name": "Engineering"},
        ],
    )
    write(
        source,
        "accounts",
        [
            {"external_id": "REV", "code": "4000", "name": "Revenue", "type": "revenue"},
            {"external_id": "COGS", "code": "5000", "name": "Hosting", "type": "cost_of_sales"},
            {
                "external_id": "MKT",
                "code": "6100",
                "name": "Marketing",
                "type": "expense",
                "is_sales_marketing": True,
            },
            {"external_id": "ENG", "code": "6200", "name": "Engineering", "type": "expense"},
        ],
    )
    write(
        source,
        "channels",
        [
            {"external_id": "PAID", "name": "Search", "is_paid": True},
            {"external_id": "ORG", "name": "Organic"},
        ],
    )
    write(
        source,
        "campaigns",
        [
            {"external_id": "C1", "name": "Spring", "channel": "PAID"},
            {"external_id": "C2", "name": "Blog", "channel": "ORG"},
        ],
    )
    write(source, "contacts", [{"external_id": f"P{i}", "name": f"P{i}"} for i in range(1, 5)])
    write(
        source,
        "customers",
        [
            {
                "external_id": f"K{i}",
                "name": f"Customer {i}",
                "acquired_on": day(i).isoformat(),
                "acquisition_channel": "PAID" if i % 2 else "ORG",
                "segment": "SMB",
            }
            for i in range(1, 4)
        ],
    )
    write(source, "initiatives", [{"external_id": "I1", "name": "App", "department": "ENG"}])
    write(source, "sales_teams", [{"external_id": "T1", "name": "Team"}])
    write(source, "sales_reps", [{"external_id": "R1", "name": "Rep", "team": "T1"}])
    write(
        source,
        "quotas",
        [
            {
                "external_id": "Q2",
                "rep": "R1",
                "period_start": day(4, 1).isoformat(),
                "period_end": day(6, 30).isoformat(),
                "amount": "5000.00",
                "currency": "USD",
            }
        ],
    )
    lines = [
        gl(f"G{month}-{account}", month, f"{100 * month + index}.00", account)
        for month in range(1, 7)
        for index, account in enumerate(ACCOUNTS)
    ]
    lines += [
        gl("G-EUR", 3, "200.00", "REV", "EUR"),
        gl("G-INI", 2, "80.00", "ENG", initiative="I1"),
    ]
    write(source, "gl_lines", lines)
    write(
        source,
        "budgets",
        [{"external_id": "B26", "name": "2026", "fiscal_year": 2026, "is_current": True}],
    )
    write(
        source,
        "budget_lines",
        [
            {
                "external_id": f"BL{month}-{account}",
                "budget": "B26",
                "account": account,
                "department": "SALES",
                "month": day(month, 1).isoformat(),
                "amount": "150.00",
                "currency": "USD",
            }
            for month in range(1, 13)
            for account in ("REV", "MKT")
        ],
    )
    write(
        source,
        "campaign_spend",
        [
            {"external_id": f"S{month}", "campaign": "C1" if month % 2 else "C2"}
            | {"date": day(month, 5).isoformat(), "amount": "60.00", "currency": "USD"}
            for month in range(1, 7)
        ],
    )
    write(
        source,
        "touchpoints",
        [
            {
                "external_id": f"TP{i}",
                "contact": f"P{1 + i % 4}",
                "campaign": "C1" if i % 2 else "C2",
                "channel": "PAID" if i % 2 else "ORG",
                "occurred_at": moment(1 + i % 6, 3),
                "type": "click",
            }
            for i in range(8)
        ],
    )
    write(
        source,
        "deals",
        [
            deal("D1", "P1", 2, "1000.00"),
            deal("D2", "P2", 4, "500.00", "EUR"),
            deal("D3", "P3", 6, "300.00"),
        ],
    )
    write(
        source,
        "invoices",
        [
            {
                "external_id": "INV1",
                "deal": "D1",
                "customer": "K1",
                "issue_date": day(2, 20).isoformat(),
                "amount": "1000.00",
                "currency": "USD",
            }
        ],
    )
    write(
        source,
        "subscription_events",
        [
            event("E1", "K1", 1, "new", "100.00"),
            event("E2", "K1", 3, "expansion", "150.00"),
            event("E3", "K2", 2, "new", "80.00"),
            event("E4", "K2", 5, "churn", "0.00"),
            event("E5", "K3", 4, "new", "90.00", "EUR"),
        ],
    )
    write(
        source,
        "initiative_costs",
        [
            {
                "external_id": "IC1",
                "initiative": "I1",
                "date": day(3).isoformat(),
                "kind": "other",
                "amount": "40.00",
                "currency": "USD",
            }
        ],
    )
    write(
        source,
        "initiative_benefits",
        [
            {
                "external_id": "IB1",
                "initiative": "I1",
                "date": day(5).isoformat(),
                "kind": "revenue",
                "amount": "70.00",
                "currency": "USD",
            }
        ],
    )


def fx(on: dt.date, rate: str) -> dict:
    return {
        "external_id": f"FX-{on.isoformat()}",
        "currency": "EUR",
        "quote_currency": "USD",
        "date": on.isoformat(),
        "rate": rate,
    }


def event(ext, customer, month, kind, mrr, currency="USD") -> dict:
    return {
        "external_id": ext,
        "customer": customer,
        "occurred_on": day(month).isoformat(),
        "type": kind,
        "mrr_after": mrr,
        "currency": currency,
    }


#: The stored snapshots: periods of several lengths, one of them in another year.
PERIODS = [
    (day(2, 1), day(2, 28)),
    (day(4, 1), day(4, 30)),
    (day(4, 1), day(6, 30)),
    (day(1, 1), day(6, 30)),
]


def stored_requests() -> list[tuple[str, dict]]:
    requests = [
        (
            Kind.BUDGET_VARIANCE,
            budget_params(
                start=dt.date(2025, 12, 1), end=dt.date(2025, 12, 31), group_by="department"
            ),
        )
    ]
    for start, end in PERIODS:
        period = period_params(start=start, end=end)
        requests += [
            (Kind.ATTRIBUTION, attribution_params(model="linear", start=start, end=end)),
            (
                Kind.CAMPAIGN_ROI,
                attribution_params(model="linear", group_by="campaign", start=start, end=end),
            ),
            (Kind.CAC, period),
            (Kind.SALES, period),
            (Kind.BUDGET_VARIANCE, budget_params(start=start, end=end, group_by="department")),
            (Kind.BUDGET_VARIANCE, budget_params(start=start, end=end, group_by="account")),
            (Kind.SUBSCRIPTIONS, subscriptions_params(start=start, end=end)),
            (Kind.COHORTS, period),
            (Kind.CS_ROI, period),
            (Kind.INITIATIVE_ROI, period),
        ]
    return requests


@pytest.fixture
def stored(db, settings):
    """The company written and its snapshots stored, the changed months cleared."""
    settings.FINHUB_REPORTING_CURRENCY = "USD"
    source = f.ConnectorFactory(name="erp")
    company(source)
    ledger_aggregates_refresh()
    snapshots_recompute(stored_requests())
    ChangedMonth.objects.all().delete()
    return source


def as_stored(result: dict) -> dict:
    return json.loads(json.dumps(result, cls=DjangoJSONEncoder))


def assert_equal_to_full_recompute(monkeypatch) -> None:
    """Every stored snapshot equals its report computed from the source rows alone (the
    ledger pre-aggregates, which the incremental run rebuilt and the snapshots read, left
    unused)."""
    snapshots = list(MetricSnapshot.objects.all())
    assert len(snapshots) == len(stored_requests())
    with monkeypatch.context() as patch:
        patch.setattr(ledger_aggregates, "valid_months", set)
        for snapshot in snapshots:
            fresh = as_stored(COMPUTERS[snapshot.kind](snapshot.params))
            assert snapshot.result == fresh, f"{snapshot} differs from a full recompute"


# --- the random changes, each through the ingestion engine --------------------------------

months = st.integers(min_value=1, max_value=6)
amounts = st.integers(min_value=1, max_value=2000).map(lambda n: f"{n}.00")
changes = st.one_of(
    st.tuples(st.just("gl_create"), months, amounts, st.sampled_from(ACCOUNTS), st.booleans()),
    st.tuples(st.just("gl_move"), months, months, amounts, st.sampled_from(ACCOUNTS)),
    st.tuples(st.just("gl_delete"), months, st.sampled_from(ACCOUNTS), st.booleans()),
    st.tuples(st.just("fx"), st.sampled_from(EUR_DAYS), st.sampled_from(["0.90", "1.30", "2.00"])),
    st.tuples(st.just("deal_move"), st.sampled_from(["D1", "D2", "D3"]), months, amounts),
    st.tuples(st.just("touchpoint"), st.integers(0, 9), months),
    st.tuples(st.just("event_move"), st.sampled_from(["E2", "E3", "E5"]), months),
    st.tuples(st.just("spend"), months, amounts),
    st.tuples(st.just("budget_line"), st.integers(1, 12), amounts),
    st.tuples(st.just("segment"), st.sampled_from(["SMB", "Enterprise"])),
)


def apply(source, change: tuple) -> None:
    kind, *args = change
    if kind == "gl_create":
        month, amount, account, eur = args
        ext = f"NEW-{month}-{account}-{amount}-{eur}"
        write(source, "gl_lines", [gl(ext, month, amount, account, "EUR" if eur else "USD")])
    elif kind == "gl_move":
        old, new, amount, account = args
        line = gl(f"G{old}-{account}", new, amount, account)
        write(source, "gl_lines", [line])
    elif kind == "gl_delete":
        month, account, soft = args
        ext = f"G{month}-{account}"
        if soft:
            records_soft_delete(
                source=source, entity="gl_lines", deletions={ext: None}, actor=ACTOR
            )
        else:
            records_delete(queryset=m.GLLine.objects.filter(external_id=ext), actor=ACTOR)
    elif kind == "fx":
        on, rate = args
        write(source, "fx_rates", [fx(on, rate)])
    elif kind == "deal_move":
        ext, month, amount = args
        contact = {"D1": "P1", "D2": "P2", "D3": "P3"}[ext]
        write(source, "deals", [deal(ext, contact, month, amount, "EUR" if ext == "D2" else "USD")])
    elif kind == "touchpoint":
        index, month = args
        record = {
            "external_id": f"TP{index}",
            "contact": f"P{1 + index % 4}",
            "channel": "PAID",
            "occurred_at": moment(month, 1),
            "type": "click",
        }
        write(source, "touchpoints", [record])
    elif kind == "event_move":
        ext, month = args
        customer, kind_, mrr, currency = {
            "E2": ("K1", "expansion", "150.00", "USD"),
            "E3": ("K2", "new", "80.00", "USD"),
            "E5": ("K3", "new", "90.00", "EUR"),
        }[ext]
        write(source, "subscription_events", [event(ext, customer, month, kind_, mrr, currency)])
    elif kind == "spend":
        month, amount = args
        spend = {"external_id": f"S{month}", "campaign": "C1", "date": day(month, 6).isoformat()}
        write(source, "campaign_spend", [spend | {"amount": amount, "currency": "USD"}])
    elif kind == "budget_line":
        month, amount = args
        line = {"external_id": f"BL{month}-REV", "budget": "B26", "account": "REV"}
        line |= {"department": "SALES", "month": day(month, 1).isoformat()}
        write(source, "budget_lines", [line | {"amount": amount, "currency": "USD"}])
    elif kind == "segment":
        (segment,) = args
        customer = {"external_id": "K2", "name": "Customer 2", "acquired_on": day(2).isoformat()}
        write(source, "customers", [customer | {"acquisition_channel": "ORG", "segment": segment}])


class Rollback(Exception):
    pass


@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(batch=st.lists(changes, min_size=1, max_size=4))
def test_the_incremental_recompute_equals_a_full_recompute(stored, batch, monkeypatch):
    try:
        with transaction.atomic():  # each example starts from the same stored company
            for change in batch:
                apply(stored, change)
            incremental.metrics_recompute_changed(compute_missing=False, push_measurements=False)
            assert not ChangedMonth.objects.exists() and not LedgerDirtyMonth.objects.exists()
            assert ledger_aggregates.valid_months()  # the budget reports read them
            assert_equal_to_full_recompute(monkeypatch)
            raise Rollback
    except Rollback:
        pass


# --- what one change recomputes ---------------------------------------------------------


def test_a_ledger_change_in_one_month_recomputes_only_the_snapshots_reading_that_month(
    stored, monkeypatch
):
    write(stored, "gl_lines", [gl("G2-REV", 2, "999.00", "REV")])
    assert set(ChangedMonth.objects.values_list("table", "month")) == {
        ("records.glline", day(2, 1))
    }
    concerned = incremental.snapshots_concerned(incremental.changes_claim())
    got = sorted((kind, params["start"], params.get("group_by", "")) for kind, params in concerned)
    february, h1 = "2026-02-01", "2026-01-01"
    expected = [
        # Budget vs actual: the outturn covers the whole year, so every 2026 period.
        *(
            (Kind.BUDGET_VARIANCE, start.isoformat(), group)
            for start, _e in PERIODS
            for group in ("account", "department")
        ),
        # The reports reading the ledger of their own months: February's and H1's.
        *(
            (kind, start, "")
            for kind in (Kind.CAC, Kind.SALES, Kind.SUBSCRIPTIONS, Kind.COHORTS, Kind.CS_ROI)
            for start in (february, h1)
        ),
        # Initiative ROI reads from each initiative's first day: every period.
        *((Kind.INITIATIVE_ROI, start.isoformat(), "") for start, _e in PERIODS),
    ]
    assert got == sorted(expected)
    assert len(concerned) == 22  # of 41 stored: no attribution, nothing of December 2025
    summary = incremental.metrics_recompute_changed(compute_missing=False, push_measurements=False)
    assert (summary["recomputed"], summary["stored"]) == (22, 41)
    assert_equal_to_full_recompute(monkeypatch)


def test_a_line_moved_to_another_month_marks_both_and_a_dry_run_nothing(stored):
    result = ingest_records(
        source=stored,
        entity="gl_lines",
        records=[gl("G1-MKT", 5, "1.00", "MKT")],
        actor=ACTOR,
        dry_run=True,
    )
    assert result.updated == 1 and not ChangedMonth.objects.exists()
    write(stored, "gl_lines", [gl("G1-MKT", 5, "1.00", "MKT")])
    assert set(ChangedMonth.objects.values_list("month", flat=True)) == {day(1, 1), day(5, 1)}


def test_a_failed_recompute_keeps_the_changed_months_for_the_next_run(stored, monkeypatch):
    write(stored, "gl_lines", [gl("G2-REV", 2, "999.00", "REV")])

    def fail(requests):
        raise RuntimeError("database went away")

    monkeypatch.setattr(incremental, "snapshots_recompute", fail)
    with pytest.raises(RuntimeError):
        incremental.metrics_recompute_changed(compute_missing=False, push_measurements=False)
    assert ChangedMonth.objects.count() == 1
    monkeypatch.undo()
    incremental.metrics_recompute_changed(compute_missing=False, push_measurements=False)
    assert not ChangedMonth.objects.exists()
    assert_equal_to_full_recompute(monkeypatch)


# --- debounce: six syncs, one recompute -----------------------------------------------------


@override_settings(FINHUB_RECOMPUTE_DEBOUNCE_SECONDS=30)
def test_six_syncs_in_a_row_run_one_incremental_recompute(
    monkeypatch, django_capture_on_commit_callbacks
):
    queued, runs = [], []
    monkeypatch.setattr(tasks.compute_metrics, "apply_async", lambda **kw: queued.append(kw))
    monkeypatch.setattr(tasks, "metrics_recompute_changed", lambda: runs.append(1) or {})
    monkeypatch.setattr(tasks.compute_forecasts, "delay", lambda: None)
    monkeypatch.setattr(tasks.detect_spend_anomalies, "delay", lambda: None)
    for connector_id in range(1, 7):
        with django_capture_on_commit_callbacks(execute=True):
            records_synced.send(sender=SyncRun, connector_id=connector_id)
    assert [q["countdown"] for q in queued] == [30] * 6
    for message in queued:
        tasks.compute_metrics.run(**message["kwargs"])
    assert runs == [1]
    assert RecomputeRequest.objects.get().started_generation == 6


def test_the_changed_months_of_a_deleted_referenced_record_concern_everything(stored):
    records_delete(queryset=m.Contact.objects.filter(external_id="P4"), actor=ACTOR)
    changes = incremental.changes_claim()
    assert changes.everything
    assert len(incremental.snapshots_concerned(changes)) == len(stored_requests())
