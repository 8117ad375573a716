"""Customer segment / CS owner and the GL line's initiative tag (#12) through the engine, the
admin file import, the read API and the sandbox's sync mapping."""

import csv
import io

import pytest
from django.urls import reverse

from connectors.sandbox.mappings import sync_config
from connectors.sandbox.shapes import RESOURCE_MAP, to_source
from connectors.sync.mapping import mapping_apply, mapping_validate
from records.ingestion.services import Actor, ingest_records
from records.models import Customer, GLLine, Initiative
from tests.connectors.helpers import bearer, gl_line, make_token, reset_throttles
from tests.factories import ConnectorFactory, CustomerFactory, GLLineFactory, InitiativeFactory

pytestmark = pytest.mark.django_db


def ingest(source, entity, records):
    return ingest_records(source=source, entity=entity, records=records, actor=Actor())


def customer(ext, **fields):
    return {"external_id": ext, "name": f"Customer {ext}", **fields}


def account(ext="4000"):
    return {"external_id": ext, "code": ext, "name": "Contractors", "type": "expense"}


# --- the engine ------------------------------------------------------------------------------


def test_segment_and_cs_owner_are_stored_trimmed_and_optional():
    source = ConnectorFactory()
    result = ingest(
        source,
        "customers",
        [
            customer("c-1", segment=" Enterprise ", cs_owner="priya@example.com"),
            customer("c-2"),
        ],
    )
    assert (result.created, result.rejected) == (2, 0)
    rows = dict(Customer.objects.values_list("external_id", "segment"))
    assert rows == {"c-1": "Enterprise", "c-2": ""}
    assert Customer.objects.get(external_id="c-1").cs_owner == "priya@example.com"


def test_a_changed_segment_is_an_update():
    source = ConnectorFactory()
    ingest(source, "customers", [customer("c-1", segment="SMB")])
    again = ingest(source, "customers", [customer("c-1", segment="Mid-market")])
    assert (again.updated, again.unchanged) == (1, 0)
    assert Customer.objects.get().segment == "Mid-market"


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("segment", "S" * 51, "no more than 50 characters"),
        ("segment", {"tier": "SMB"}, "string"),
        ("cs_owner", "x" * 201, "no more than 200 characters"),
        ("cs_owner", ["Noor"], "string"),
    ],
)
def test_bad_segment_or_owner_is_a_field_error(field, value, message):
    source = ConnectorFactory()
    result = ingest(source, "customers", [customer("c-1", **{field: value})])
    assert result.rejected == 1
    errors = result.errors[0].errors
    assert list(errors) == [field]
    assert message in " ".join(errors[field]).lower()
    assert not Customer.objects.exists()


def test_a_gl_line_tagged_with_a_known_initiative_is_resolved():
    source = ConnectorFactory()
    ingest(source, "accounts", [account()])
    ingest(source, "initiatives", [{"external_id": "INI-1", "name": "SSO"}])
    result = ingest(source, "gl_lines", [gl_line("gl-1", initiative="INI-1")])
    assert (result.created, result.rejected) == (1, 0)
    line = GLLine.objects.get()
    assert line.initiative == Initiative.objects.get(external_id="INI-1")
    assert line.initiative_external_id == "INI-1"


def test_a_gl_line_naming_an_unknown_initiative_waits_and_resolves_when_it_arrives():
    source = ConnectorFactory()
    ingest(source, "accounts", [account()])
    result = ingest(
        source,
        "gl_lines",
        [gl_line("gl-1", initiative="INI-9"), gl_line("gl-2", initiative="INI-9")],
    )
    assert (result.created, result.rejected) == (2, 0)  # kept, not rejected
    assert set(GLLine.objects.values_list("initiative_id", "initiative_external_id")) == {
        (None, "INI-9")
    }

    ingest(source, "initiatives", [{"external_id": "INI-9", "name": "Bank feeds"}])

    initiative = Initiative.objects.get()
    assert set(GLLine.objects.values_list("initiative_id", flat=True)) == {initiative.pk}


def test_an_initiative_of_another_connector_does_not_resolve_the_tag():
    erp, other = ConnectorFactory(name="ERP"), ConnectorFactory(name="Other")
    ingest(erp, "accounts", [account()])
    ingest(other, "initiatives", [{"external_id": "INI-1", "name": "SSO"}])
    ingest(erp, "gl_lines", [gl_line("gl-1", initiative="INI-1")])
    assert GLLine.objects.get().initiative_id is None


def test_dropping_the_tag_clears_it():
    source = ConnectorFactory()
    ingest(source, "accounts", [account()])
    ingest(source, "initiatives", [{"external_id": "INI-1", "name": "SSO"}])
    ingest(source, "gl_lines", [gl_line("gl-1", initiative="INI-1")])
    ingest(source, "gl_lines", [gl_line("gl-1")])
    line = GLLine.objects.get()
    assert (line.initiative_id, line.initiative_external_id) == (None, "")


def test_the_factories_carry_segment_owner_and_initiative():
    cust = CustomerFactory(segment="Enterprise")
    assert (cust.segment, cust.cs_owner) == ("Enterprise", "Noor Haddad")
    initiative = InitiativeFactory()
    line = GLLineFactory(initiative=initiative, source=initiative.source)
    assert (line.initiative, line.initiative_external_id) == (initiative, initiative.external_id)
    assert GLLineFactory().initiative_external_id == ""


# --- the admin file import -------------------------------------------------------------------


def csv_upload(rows, name):
    buffer = io.StringIO()
    csv.writer(buffer).writerows(rows)
    upload = io.BytesIO(buffer.getvalue().encode())
    upload.name = name
    return upload


def import_file(client, model, rows, source):
    data = {
        "import_file": csv_upload(rows, f"{model}.csv"),
        "format": "0",
        "resource": "0",
        "source": source.pk,
    }
    preview = client.post(reverse(f"admin:records_{model}_import"), data)
    assert preview.status_code == 200
    return preview


def test_a_customer_file_imports_segment_and_owner(client, superuser):
    client.force_login(superuser)
    source = ConnectorFactory(name="Billing")
    preview = import_file(
        client,
        "customer",
        [
            ["external_id", "name", "segment", "cs_owner"],
            ["c-1", "Acme", "Enterprise", "Priya Raman"],
            ["c-2", "Initech", "SMB", ""],
        ],
        source,
    )
    assert not preview.context["result"].has_validation_errors()
    confirm = preview.context["confirm_form"]
    assert client.post(reverse("admin:records_customer_process_import"), confirm.initial)
    rows = set(Customer.objects.values_list("external_id", "segment", "cs_owner"))
    assert rows == {("c-1", "Enterprise", "Priya Raman"), ("c-2", "SMB", "")}


def test_a_too_long_segment_in_a_file_is_a_row_error_on_that_field(client, superuser):
    client.force_login(superuser)
    source = ConnectorFactory(name="Billing")
    preview = import_file(
        client,
        "customer",
        [["external_id", "name", "segment"], ["c-1", "Acme", "S" * 51]],
        source,
    )
    result = preview.context["result"]
    assert result.has_validation_errors()
    (invalid,) = result.invalid_rows
    assert list(invalid.error_dict) == ["segment"]
    assert not Customer.objects.exists()


def test_a_gl_file_imports_the_initiative_tag_pending_until_the_initiative_arrives(
    client, superuser
):
    client.force_login(superuser)
    source = ConnectorFactory(name="ERP")
    ingest(source, "accounts", [account()])
    preview = import_file(
        client,
        "glline",
        [
            ["external_id", "account", "posting_date", "amount", "currency", "initiative"],
            ["gl-1", "4000", "2026-01-05", "1200.00", "EUR", "INI-7"],
        ],
        source,
    )
    assert not preview.context["result"].has_validation_errors()
    client.post(
        reverse("admin:records_glline_process_import"), preview.context["confirm_form"].initial
    )
    line = GLLine.objects.get()
    assert (line.initiative_id, line.initiative_external_id) == (None, "INI-7")
    ingest(source, "initiatives", [{"external_id": "INI-7", "name": "Audit trail"}])
    line.refresh_from_db()
    assert line.initiative.name == "Audit trail"


def test_the_customer_export_has_the_new_columns(client, superuser):
    client.force_login(superuser)
    CustomerFactory(segment="Mid-market", cs_owner="Kwame Mensah")
    from records.resources import resource_for

    dataset = resource_for(Customer)().export()
    assert {"segment", "cs_owner"} <= set(dataset.headers)
    assert dataset.dict[0]["segment"] == "Mid-market"
    assert dataset.dict[0]["cs_owner"] == "Kwame Mensah"


# --- the read API ----------------------------------------------------------------------------


@pytest.fixture
def reader():
    reset_throttles()
    from connectors.authentication import READ_ALL_SCOPE

    _, plaintext = make_token(can_read=True, can_write=False, scopes=[READ_ALL_SCOPE])
    yield bearer(plaintext)
    reset_throttles()


def test_customers_can_be_read_and_filtered_by_segment(client, reader):
    source = ConnectorFactory()
    ingest(
        source,
        "customers",
        [
            customer("c-1", segment="SMB", cs_owner="Noor"),
            customer("c-2", segment="Enterprise"),
            customer("c-3", segment="Mid-market"),
        ],
    )
    response = client.get("/api/v1/customers/?segment=Enterprise", **reader)
    assert response.status_code == 200, response.json()
    assert [r["external_id"] for r in response.json()["results"]] == ["c-2"]
    response = client.get("/api/v1/customers/?segment__in=SMB,Mid-market", **reader)
    rows = {r["external_id"]: r for r in response.json()["results"]}
    assert set(rows) == {"c-1", "c-3"}
    assert (rows["c-1"]["segment"], rows["c-1"]["cs_owner"]) == ("SMB", "Noor")


def test_gl_lines_can_be_filtered_by_initiative(client, reader):
    source = ConnectorFactory()
    ingest(source, "accounts", [account()])
    ingest(source, "initiatives", [{"external_id": "INI-1", "name": "SSO"}])
    ingest(
        source,
        "gl_lines",
        [
            gl_line("gl-1", initiative="INI-1", posting_date="2026-01-10"),
            gl_line("gl-2", initiative="INI-1", posting_date="2026-03-10"),
            gl_line("gl-3", initiative="INI-2"),
            gl_line("gl-4"),
        ],
    )
    pk = Initiative.objects.get().pk
    by_id = client.get(
        f"/api/v1/gl_lines/?initiative={pk}&posting_date__gte=2026-02-01", **reader
    ).json()
    assert [r["external_id"] for r in by_id["results"]] == ["gl-2"]
    assert by_id["results"][0]["initiative"] == pk
    pending = client.get("/api/v1/gl_lines/?initiative_external_id=INI-2", **reader).json()
    assert [(r["external_id"], r["initiative"]) for r in pending["results"]] == [("gl-3", None)]


# --- the sync mapping (the sandbox's billing and ERP systems) ---------------------------------


def test_the_billing_sync_maps_segment_and_owner_and_the_erp_the_project_tag():
    billing = {e["entity"]: e for e in sync_config("billing")["entities"]}
    assert billing["customers"]["fields"]["segment"] == "metadata.segment"
    assert billing["customers"]["fields"]["cs_owner"] == "metadata.success_manager"
    erp = {e["entity"]: e for e in sync_config("erp")["entities"]}
    assert erp["gl_lines"]["fields"]["initiative"] == "project_id"

    row = customer("c-1", segment="Enterprise", cs_owner="Priya Raman")
    record = to_source(RESOURCE_MAP[("billing", "customers")], row)
    assert record["metadata"] == {"segment": "Enterprise", "success_manager": "Priya Raman"}
    assert mapping_validate(sync_config("billing")) == []
    mapped, errors = mapping_apply(billing["customers"], record)
    assert errors == {}
    assert (mapped["segment"], mapped["cs_owner"]) == ("Enterprise", "Priya Raman")
