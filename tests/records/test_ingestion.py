"""The ingestion engine: validation, upsert, atomic mode, rejected records, pending references."""

import datetime as dt
from decimal import Decimal

import pytest

from records import models as m
from records.ingestion.entities import ENTITIES
from records.ingestion.services import (
    ENTITY_NAMES,
    MAX_RECORDS_PER_REQUEST,
    Actor,
    IngestRequestError,
    entity_field_docs,
    ingest_records,
    rejected_dismiss,
    rejected_reprocess,
)
from tests.factories import ConnectorFactory, UserFactory

pytestmark = pytest.mark.django_db

# One valid record per entity (references may point at records not received yet).
SAMPLES = {
    "fx_rates": {"currency": "EUR", "date": "2026-01-05", "rate": "1.0843000000"},
    "departments": {"name": "Marketing", "code": "MKT"},
    "accounts": {"code": "6100", "name": "Advertising", "type": "expense"},
    "gl_lines": {
        "account": "acc-1",
        "posting_date": "2026-01-05",
        "amount": Decimal("-1250.50"),
        "currency": "EUR",
        "description": "Ads",
    },
    "invoices": {
        "number": "INV-1",
        "customer": "cus-1",
        "deal": "deal-1",
        "issue_date": "2026-01-05",
        "due_date": "2026-02-04",
        "amount": "990.00",
        "currency": "USD",
        "status": "open",
    },
    "budgets": {"name": "Budget 2026", "fiscal_year": 2026, "version": 0, "is_current": True},
    "budget_lines": {
        "budget": "b-2026",
        "account": "acc-1",
        "month": "2026-03-01",
        "amount": 5000,
        "currency": "USD",
    },
    "channels": {"name": "Paid search", "is_paid": True},
    "campaigns": {
        "name": "Spring",
        "channel": "ch-1",
        "start_date": "2026-03-01",
        "end_date": "2026-03-31",
        "planned_budget": "10000.00",
        "currency": "USD",
        "owner": "Ann",
    },
    "campaign_spend": {
        "campaign": "cmp-1",
        "date": "2026-03-02",
        "amount": "123.45",
        "currency": "USD",
    },
    "contacts": {"kind": "person", "name": "Bo", "company": "Acme"},
    "touchpoints": {
        "contact": "con-1",
        "campaign": "cmp-1",
        "occurred_at": "2026-03-02T10:00:00Z",
        "type": "click",
    },
    "sales_teams": {"name": "EMEA"},
    "sales_reps": {"name": "Rita", "team": "team-1"},
    "quotas": {
        "rep": "rep-1",
        "period_start": "2026-01-01",
        "period_end": "2026-03-31",
        "amount": "50000",
        "currency": "USD",
    },
    "deals": {
        "name": "Acme expansion",
        "contact": "con-1",
        "amount": "12000.00",
        "currency": "USD",
        "stage": "Closed won",
        "status": "won",
        "created_at": "2026-01-10T09:00:00+01:00",
        "closed_at": "2026-02-10T09:00:00Z",
        "rep": "rep-1",
        "campaign": "cmp-1",
    },
    "customers": {"name": "Acme", "acquired_on": "2026-02-10", "acquisition_channel": "ch-1"},
    "subscription_events": {
        "customer": "cus-1",
        "occurred_on": "2026-02-10",
        "type": "new",
        "mrr_after": "1000.00",
        "currency": "USD",
    },
    "initiatives": {"name": "Self-serve onboarding", "product": "App", "owner": "Pia"},
    "initiative_costs": {
        "initiative": "ini-1",
        "date": "2026-02-28",
        "kind": "time",
        "hours": "12.5",
        "hourly_rate": "80.00",
        "currency": "USD",
    },
    "initiative_benefits": {
        "initiative": "ini-1",
        "date": "2026-03-31",
        "kind": "retention",
        "amount": "400.00",
        "currency": "USD",
    },
}


@pytest.fixture
def source():
    return ConnectorFactory(name="ERP")


@pytest.fixture
def actor():
    return Actor(user=UserFactory(username="importer"), request_id="req-1", via="api")


def ingest(source, entity, records, actor=None, **kwargs):
    return ingest_records(
        source=source, entity=entity, records=records, actor=actor or Actor(), **kwargs
    )


def gl(ext, **overrides):
    record = {
        "external_id": ext,
        "account": "acc-1",
        "posting_date": "2026-01-05",
        "amount": Decimal("10.00"),
        "currency": "EUR",
    }
    record.update(overrides)
    return record


def test_every_entity_has_a_sample():
    assert set(SAMPLES) == set(ENTITY_NAMES)


@pytest.mark.parametrize("entity", sorted(SAMPLES))
def test_happy_path_creates_then_unchanged(entity, source, actor):
    record = {"external_id": "x-1", "updated_at": "2026-03-01T00:00:00Z", **SAMPLES[entity]}
    result = ingest(source, entity, [record], actor)
    assert (result.created, result.updated, result.unchanged, result.rejected) == (1, 0, 0, 0)
    row = ENTITIES[entity].model.objects.get(source=source, external_id="x-1")
    assert row.last_batch_id == result.batch_id
    assert row.source_updated_at == dt.datetime(2026, 3, 1, tzinfo=dt.UTC)
    again = ingest(source, entity, [record], actor)
    assert (again.created, again.updated, again.unchanged) == (0, 0, 1)
    row.refresh_from_db()
    assert row.last_batch_id == result.batch_id  # an unchanged row is not rewritten


def test_stored_values_are_the_canonical_ones(source):
    ingest(source, "deals", [{"external_id": "d-1", **SAMPLES["deals"]}])
    deal = m.Deal.objects.get()
    assert deal.amount == Decimal("12000.00")
    assert deal.currency_id == "USD"
    assert deal.opened_at == dt.datetime(2026, 1, 10, 8, 0, tzinfo=dt.UTC)
    assert deal.status == "won"
    assert deal.campaign_external_id == "cmp-1"
    assert deal.campaign is None  # pending until the campaign arrives
    ingest(source, "initiative_costs", [{"external_id": "c-1", **SAMPLES["initiative_costs"]}])
    assert m.InitiativeCost.objects.get().amount == Decimal("1000.00")  # 12.5 h x 80.00


def test_resend_with_changes_updates_in_place(source, actor):
    first = ingest(source, "gl_lines", [gl("l-1"), gl("l-2")], actor)
    second = ingest(source, "gl_lines", [gl("l-1", amount="11.00"), gl("l-2"), gl("l-3")], actor)
    assert (second.created, second.updated, second.unchanged) == (1, 1, 1)
    assert m.GLLine.objects.count() == 3
    line = m.GLLine.objects.get(external_id="l-1")
    assert line.amount == Decimal("11.00")
    assert line.last_batch_id == second.batch_id
    assert m.GLLine.objects.get(external_id="l-2").last_batch_id == first.batch_id


def test_older_version_does_not_overwrite_newer(source):
    ingest(source, "gl_lines", [gl("l-1", amount="5.00", updated_at="2026-02-01T00:00:00Z")])
    result = ingest(
        source, "gl_lines", [gl("l-1", amount="9.00", updated_at="2026-01-01T00:00:00Z")]
    )
    assert (result.updated, result.unchanged) == (0, 1)
    assert m.GLLine.objects.get().amount == Decimal("5.00")


def test_same_external_id_in_two_sources_are_two_records(source):
    other = ConnectorFactory(name="Other ERP")
    ingest(source, "gl_lines", [gl("l-1")])
    ingest(other, "gl_lines", [gl("l-1", amount="3.00")])
    assert m.GLLine.objects.count() == 2


def test_batch_records_who_and_counts(source):
    user = UserFactory(username="ann")
    result = ingest(
        source,
        "gl_lines",
        [gl("l-1"), gl("l-2", amount="x")],
        Actor(user=user, request_id="abc", via="import"),
    )
    batch = m.IngestBatch.objects.get(pk=result.batch_id)
    assert (batch.user, batch.request_id, batch.via, batch.entity) == (
        user,
        "abc",
        "import",
        "gl_lines",
    )
    assert (batch.received, batch.created, batch.rejected) == (2, 1, 1)
    assert batch.finished_at is not None


def bad_case(entity, field, value, message, error_field=None):
    return pytest.param(
        entity, field, value, message, error_field or field, id=f"{entity}-{field}-{value!r}"
    )


@pytest.mark.parametrize(
    ("entity", "field", "value", "message", "error_field"),
    [
        bad_case("gl_lines", "posting_date", None, "This field is required."),
        bad_case("gl_lines", "account", "", "This field is required."),
        bad_case("gl_lines", "amount", [1], "A valid number is required."),
        bad_case("gl_lines", "amount", True, "A valid number is required."),
        bad_case("gl_lines", "amount", 1.5, "A valid number is required."),
        bad_case("gl_lines", "amount", "12,00", "A valid number is required."),
        bad_case("gl_lines", "amount", Decimal("1.005"), "no more than 2 decimal places"),
        bad_case("gl_lines", "amount", "0.001", "no more than 2 decimal places"),
        bad_case("gl_lines", "amount", Decimal("NaN"), "NaN and Infinity are not allowed."),
        bad_case("gl_lines", "amount", "Infinity", "NaN and Infinity are not allowed."),
        bad_case("gl_lines", "amount", "-inf", "NaN and Infinity are not allowed."),
        bad_case("gl_lines", "amount", Decimal("1E+16"), "no more than 16 digits"),
        bad_case("gl_lines", "amount", "12345678901234567.00", "no more than 16 digits"),
        bad_case("gl_lines", "currency", "XXX", 'Unknown currency "XXX".'),
        bad_case("gl_lines", "currency", 978, "Must be an ISO 4217 currency code"),
        bad_case("gl_lines", "posting_date", "05/01/2026", "Use YYYY-MM-DD."),
        bad_case("gl_lines", "posting_date", "2026-02-30", "Use YYYY-MM-DD."),
        bad_case("gl_lines", "posting_date", 20260105, "Use YYYY-MM-DD."),
        bad_case("gl_lines", "description", "x" * 501, "no more than 500 characters"),
        bad_case("gl_lines", "description", {"a": 1}, "Not a valid string."),
        bad_case("gl_lines", "updated_at", "2026-01-05T10:00:00", "must include a UTC offset"),
        bad_case("campaign_spend", "amount", "-1.00", "greater than or equal to 0"),
        bad_case("invoices", "amount", Decimal("-0.01"), "greater than or equal to 0"),
        bad_case("subscription_events", "mrr_after", "-5", "greater than or equal to 0"),
        bad_case("subscription_events", "type", "upgrade", '"upgrade" is not a valid choice'),
        bad_case("fx_rates", "rate", "0", "greater than 0"),
        bad_case("budgets", "fiscal_year", "20x6", "A valid integer is required."),
        bad_case("channels", "is_paid", "maybe", "Must be a valid boolean."),
        bad_case("budget_lines", "month", "2026-03-15", "first day of a month"),
        bad_case("quotas", "period_end", "2025-12-31", "Must be on or after period_start."),
        bad_case("deals", "closed_at", None, "Required when status is won or lost."),
        bad_case("subscription_events", "type", "churn", "Must be 0 for a churn", "mrr_after"),
        bad_case("initiative_costs", "amount", "999.99", "Must equal hours x hourly_rate"),
    ],
)
def test_bad_input_is_a_field_error_and_nothing_of_it_is_written(
    entity, field, value, message, error_field, source
):
    record = {"external_id": "bad-1", **SAMPLES[entity], field: value}
    result = ingest(source, entity, [record, {"external_id": "ok-1", **SAMPLES[entity]}])
    assert (result.created, result.rejected) == (1, 1)
    [error] = result.errors
    assert (error.index, error.external_id) == (0, "bad-1")
    assert list(error.errors) == [error_field]
    assert message in error.errors[error_field][0]
    model = ENTITIES[entity].model
    assert not model.objects.filter(external_id="bad-1").exists()
    rejected = m.RejectedRecord.objects.get()
    assert (rejected.entity, rejected.external_id, rejected.status) == (entity, "bad-1", "open")
    assert rejected.errors == error.errors
    assert rejected.batch_id == result.batch_id


def test_unknown_field_is_an_error(source):
    result = ingest(source, "gl_lines", [gl("l-1", amont="1.00")])
    assert result.errors[0].errors == {"amont": ["Unknown field."]}
    assert not m.GLLine.objects.exists()


def test_missing_external_id_and_non_object_rows(source):
    result = ingest(
        source, "gl_lines", [{k: v for k, v in gl("x").items() if k != "external_id"}, 7]
    )
    assert result.errors[0].errors == {"external_id": ["This field is required."]}
    assert result.errors[1].errors == {"non_field_errors": ["Each record must be a JSON object."]}
    assert m.RejectedRecord.objects.get(payload=7).entity == "gl_lines"


def test_decimal_payload_is_stored_exactly_in_the_rejected_record(source):
    ingest(source, "gl_lines", [gl("l-1", amount=Decimal("1.005"))])
    assert m.RejectedRecord.objects.get().payload["amount"] == "1.005"


def test_trailing_zeros_beyond_two_decimals_are_exact_not_rounded(source):
    result = ingest(source, "gl_lines", [gl("l-1", amount=Decimal("7.100"))])
    assert result.created == 1
    assert m.GLLine.objects.get().amount == Decimal("7.10")


def test_duplicate_external_id_rejects_the_request(source):
    with pytest.raises(IngestRequestError) as exc:
        ingest(source, "gl_lines", [gl("l-1"), gl("l-2"), gl("l-1", amount="2.00")])
    assert exc.value.code == "duplicate_external_id"
    [error] = exc.value.errors
    assert (error.index, error.external_id) == (2, "l-1")
    assert "first at index 0" in error.errors["external_id"][0]
    assert not m.GLLine.objects.exists()
    assert not m.IngestBatch.objects.exists()
    assert not m.RejectedRecord.objects.exists()


def test_atomic_mode_writes_nothing_when_one_row_is_invalid(source):
    with pytest.raises(IngestRequestError) as exc:
        ingest(source, "gl_lines", [gl("l-1"), gl("l-2", currency="ABC")], atomic=True)
    assert exc.value.code == "atomic_rejected"
    assert exc.value.errors[0].errors == {"currency": ['Unknown currency "ABC".']}
    assert exc.value.as_dict()["errors"][0]["index"] == 1
    assert not m.GLLine.objects.exists()
    assert not m.RejectedRecord.objects.exists()
    assert not m.IngestBatch.objects.exists()


def test_atomic_mode_writes_everything_when_all_valid(source):
    result = ingest(source, "gl_lines", [gl("l-1"), gl("l-2")], atomic=True)
    assert result.created == 2
    assert m.IngestBatch.objects.get().atomic


@pytest.mark.parametrize(
    ("entity", "records", "code"),
    [
        ("ledger", [], "unknown_entity"),
        ("gl_lines", {"external_id": "x"}, "not_a_list"),
        ("gl_lines", [{}] * (MAX_RECORDS_PER_REQUEST + 1), "too_many_records"),
    ],
)
def test_request_level_errors(entity, records, code, source):
    with pytest.raises(IngestRequestError) as exc:
        ingest(source, entity, records)
    assert exc.value.code == code
    assert not m.IngestBatch.objects.exists()


def test_unresolved_reference_is_kept_pending_then_resolved(source):
    ingest(source, "gl_lines", [gl("l-1", department="d-9", campaign="cmp-1"), gl("l-2")])
    line = m.GLLine.objects.get(external_id="l-1")
    assert (line.account_id, line.account_external_id) == (None, "acc-1")
    assert (line.department_id, line.department_external_id) == (None, "d-9")
    ingest(source, "accounts", [{"external_id": "acc-1", **SAMPLES["accounts"]}])
    ingest(source, "departments", [{"external_id": "d-9", "name": "Sales"}])
    account = m.Account.objects.get()
    assert set(m.GLLine.objects.values_list("account_id", flat=True)) == {account.pk}
    line.refresh_from_db()
    assert line.department.name == "Sales"
    assert line.campaign_id is None and line.campaign_external_id == "cmp-1"
    # A line arriving after its account resolves at once.
    ingest(source, "gl_lines", [gl("l-3")])
    assert m.GLLine.objects.get(external_id="l-3").account_id == account.pk


def test_references_resolve_within_the_same_source_only(source):
    other = ConnectorFactory(name="CRM")
    ingest(other, "accounts", [{"external_id": "acc-1", **SAMPLES["accounts"]}])
    ingest(source, "gl_lines", [gl("l-1")])
    assert m.GLLine.objects.get().account_id is None


def test_self_reference_in_the_same_request_resolves(source):
    ingest(
        source,
        "departments",
        [
            {"external_id": "child", "name": "Field marketing", "parent": "root"},
            {"external_id": "root", "name": "Marketing"},
        ],
    )
    assert m.Department.objects.get(external_id="child").parent.external_id == "root"


def test_changing_a_reference_repoints_the_row(source):
    ingest(
        source,
        "accounts",
        [
            {"external_id": "acc-1", **SAMPLES["accounts"]},
            {"external_id": "acc-2", **SAMPLES["accounts"], "code": "6200"},
        ],
    )
    ingest(source, "gl_lines", [gl("l-1")])
    ingest(source, "gl_lines", [gl("l-1", account="acc-2")])
    assert m.GLLine.objects.get().account.external_id == "acc-2"


def test_new_current_budget_version_takes_over(source):
    base = {"name": "B", "fiscal_year": 2026}
    ingest(source, "budgets", [{"external_id": "v0", **base, "version": 0, "is_current": True}])
    ingest(source, "budgets", [{"external_id": "v1", **base, "version": 1, "is_current": "true"}])
    assert list(m.Budget.objects.filter(is_current=True).values_list("external_id", flat=True)) == [
        "v1"
    ]


def test_budget_version_conflicts_are_row_errors(source):
    base = {"name": "B", "fiscal_year": 2026, "version": 0}
    ingest(source, "budgets", [{"external_id": "v0", **base}])
    result = ingest(
        source,
        "budgets",
        [
            {"external_id": "other", **base},
            {"external_id": "c1", **base, "version": 1, "is_current": True},
            {"external_id": "c2", **base, "version": 2, "is_current": True},
        ],
    )
    assert [(e.index, list(e.errors)) for e in result.errors] == [
        (0, ["version"]),
        (2, ["is_current"]),
    ]
    assert result.created == 1


def test_reprocess_after_the_cause_is_fixed(source, actor):
    m.Currency.objects.filter(code="NZD").update(active=False)
    ingest(source, "gl_lines", [gl("l-1", currency="NZD", amount=Decimal("3.30"))])
    rejected = m.RejectedRecord.objects.get()
    outcome = rejected_reprocess(rejected_ids=[rejected.pk], actor=actor)
    assert (outcome.reprocessed, outcome.still_rejected) == (0, 1)
    rejected.refresh_from_db()
    assert rejected.status == "open"
    m.Currency.objects.filter(code="NZD").update(active=True)
    outcome = rejected_reprocess(rejected_ids=[rejected.pk], actor=actor)
    assert outcome.reprocessed == 1
    rejected.refresh_from_db()
    assert rejected.status == "reprocessed"
    line = m.GLLine.objects.get()
    assert (line.amount, line.currency_id) == (Decimal("3.30"), "NZD")
    assert line.last_batch == rejected.resolved_batch
    assert rejected.resolved_batch.via == "reprocess"
    assert rejected.resolved_batch.user == actor.user
    # Reprocessing again is a no-op: only open records are picked up.
    assert rejected_reprocess(rejected_ids=[rejected.pk], actor=actor).skipped == 1


def test_reprocess_uses_the_latest_of_several_rejects(source, actor):
    m.Currency.objects.filter(code="NZD").update(active=False)
    ingest(source, "gl_lines", [gl("l-1", currency="NZD", amount="1.00")])
    ingest(source, "gl_lines", [gl("l-1", currency="NZD", amount="2.00")])
    m.Currency.objects.filter(code="NZD").update(active=True)
    ids = list(m.RejectedRecord.objects.values_list("pk", flat=True))
    outcome = rejected_reprocess(rejected_ids=ids, actor=actor)
    assert (outcome.reprocessed, outcome.skipped) == (1, 1)
    assert m.GLLine.objects.get().amount == Decimal("2.00")
    assert sorted(m.RejectedRecord.objects.values_list("status", flat=True)) == [
        "dismissed",
        "reprocessed",
    ]


def test_dismiss(source, actor):
    ingest(source, "gl_lines", [gl("l-1", currency="???")])
    rejected = m.RejectedRecord.objects.get()
    assert rejected_dismiss(rejected_ids=[rejected.pk], actor=actor) == 1
    rejected.refresh_from_db()
    assert rejected.status == "dismissed"


def test_dry_run_reports_but_writes_nothing(source):
    result = ingest(source, "gl_lines", [gl("l-1"), gl("l-2", amount="bad")], dry_run=True)
    assert (result.created, result.rejected, result.batch_id) == (1, 1, None)
    assert not m.GLLine.objects.exists()
    assert not m.RejectedRecord.objects.exists()
    assert not m.IngestBatch.objects.exists()


def test_query_count_does_not_grow_with_rows(source, django_assert_max_num_queries):
    ingest(source, "accounts", [{"external_id": "acc-1", **SAMPLES["accounts"]}])
    records = [gl(f"l-{i}", department=f"d-{i % 3}", campaign="c") for i in range(400)]
    records += [gl(f"bad-{i}", currency="ZZZ") for i in range(50)]
    # currencies, batch insert, the locked months, 3 reference lookups, stored rows, the
    # stored dates and the changed months (for the incremental recompute and the ledger
    # pre-aggregates), upsert, rejects, batch update, plus savepoint/temp-table statements
    # (one more on PostgreSQL than on SQLite): a constant, not a query per row.
    with django_assert_max_num_queries(19):
        result = ingest(source, "gl_lines", records)
    assert (result.created, result.rejected) == (400, 50)


def test_entity_field_docs():
    docs = entity_field_docs("gl_lines")
    assert docs["amount"]["type"] == "money"
    assert docs["amount"]["required"] is True
    assert docs["external_id"]["required"] is True
    assert "accounts" in docs["account"]["help"]
    assert docs["currency"]["type"] == "currency"
    with pytest.raises(IngestRequestError):
        entity_field_docs("nope")


@pytest.mark.parametrize(
    "text", ['say "hi", ok', "back\\slash", "two\nlines\r\n", "tab\there", "\\N", "", "NULL"]
)
def test_text_round_trips_exactly(source, text):
    ingest(source, "gl_lines", [gl("l-1", description=text, department="")])
    line = m.GLLine.objects.get()
    assert line.description == text.strip()
    assert (line.department_external_id, line.department_id) == ("", None)
    assert line.source_updated_at is None


def test_factories_build_consistent_rows():
    from tests import factories as f

    line = f.GLLineFactory()
    assert line.account.source == line.source
    assert line.account_external_id == line.account.external_id
    campaign = f.CampaignFactory()
    assert campaign.channel_external_id == campaign.channel.external_id
    assert f.RejectedRecordFactory().status == "open"
    f.DepartmentFactory(), f.ContactFactory(), f.CustomerFactory()
