"""Records admin: pages, edits through the engine, rejected-record actions, import, export."""

import csv
import io
from decimal import Decimal

import openpyxl
import pytest
from django.contrib import admin
from django.urls import reverse

from finhub.core.spreadsheets import neutralise
from records import models as m
from records.ingestion.services import Actor, ingest_records
from records.models.base import SourcedRecord
from records.resources import XLSX
from tests.factories import ConnectorFactory

pytestmark = pytest.mark.django_db

RECORDS_MODELS = [model for model in admin.site._registry if model._meta.app_label == "records"]


@pytest.fixture
def source():
    return ConnectorFactory(name="ERP")


@pytest.fixture
def staff(client, superuser):
    client.force_login(superuser)
    return client


def line(ext, **overrides):
    record = {
        "external_id": ext,
        "account": "acc-1",
        "posting_date": "2026-01-05",
        "amount": "10.00",
        "currency": "EUR",
    }
    record.update(overrides)
    return record


def test_every_records_model_is_registered():
    from records.ingestion.entities import ENTITY_BY_MODEL

    names = {model.__name__ for model in RECORDS_MODELS}
    assert {"RejectedRecord", "IngestBatch", "Currency"} <= names
    assert set(ENTITY_BY_MODEL) <= set(RECORDS_MODELS)  # every ingestible entity


@pytest.mark.parametrize("model", RECORDS_MODELS, ids=lambda model: model.__name__)
def test_changelist_and_add_pages_render(model, staff, source):
    ingest_records(source=source, entity="gl_lines", records=[line("l-1")], actor=Actor())
    opts = model._meta
    response = staff.get(reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist"))
    assert response.status_code == 200
    if issubclass(model, SourcedRecord):
        response = staff.get(reverse(f"admin:{opts.app_label}_{opts.model_name}_add"))
        assert response.status_code == 200


def test_finance_viewer_reads_but_cannot_import(client, finance_viewer, source):
    ingest_records(source=source, entity="gl_lines", records=[line("l-1")], actor=Actor())
    client.force_login(finance_viewer)
    assert client.get(reverse("admin:records_glline_changelist")).status_code == 200
    assert client.get(reverse("admin:records_glline_import")).status_code == 403


def test_admin_edit_goes_through_the_engine(staff, superuser, source):
    ingest_records(source=source, entity="gl_lines", records=[line("l-1")], actor=Actor())
    gl = m.GLLine.objects.get()
    url = reverse("admin:records_glline_change", args=[gl.pk])
    response = staff.get(url)
    assert response.status_code == 200
    form = response.context["adminform"].form
    data = {k: v for k, v in form.initial.items() if v is not None and k in form.fields}
    data.update({"amount": "12.345", "currency": "EUR"})
    response = staff.post(url, data)
    assert response.status_code == 200  # re-shown with the engine's error
    assert "no more than 2 decimal places" in str(response.context["adminform"].form.errors)
    data["amount"] = "-12.34"
    response = staff.post(url, data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    gl.refresh_from_db()
    assert gl.amount == Decimal("-12.34")
    assert (gl.last_batch.via, gl.last_batch.user) == ("admin", superuser)
    assert gl.last_batch.updated == 1


def test_admin_add_creates_through_the_engine(staff, source):
    response = staff.post(
        reverse("admin:records_channel_add"),
        {"source": source.pk, "external_id": "ch-1", "name": "Paid search", "is_paid": "on"},
    )
    assert response.status_code == 302
    channel = m.Channel.objects.get()
    assert (channel.name, channel.is_paid, channel.last_batch.via) == ("Paid search", True, "admin")


def test_rejected_record_actions(staff, source):
    m.Currency.objects.filter(code="NZD").update(active=False)
    ingest_records(
        source=source, entity="gl_lines", records=[line("l-1", currency="NZD")], actor=Actor()
    )
    rejected = m.RejectedRecord.objects.get()
    url = reverse("admin:records_rejectedrecord_changelist")
    assert "Unknown currency" in staff.get(url).content.decode()
    assert (
        staff.get(reverse("admin:records_rejectedrecord_change", args=[rejected.pk])).status_code
        == 200
    )
    m.Currency.objects.filter(code="NZD").update(active=True)
    staff.post(url, {"action": "reprocess", "_selected_action": [rejected.pk]})
    rejected.refresh_from_db()
    assert rejected.status == "reprocessed"
    assert m.GLLine.objects.get().currency_id == "NZD"


def test_dismiss_action(staff, source):
    ingest_records(
        source=source, entity="gl_lines", records=[line("l-1", amount="x")], actor=Actor()
    )
    rejected = m.RejectedRecord.objects.get()
    staff.post(
        reverse("admin:records_rejectedrecord_changelist"),
        {"action": "dismiss", "_selected_action": [rejected.pk]},
    )
    rejected.refresh_from_db()
    assert rejected.status == "dismissed"


# --- import -------------------------------------------------------------------------------------


def csv_file(rows, name="lines.csv"):
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerows(rows)
    upload = io.BytesIO(buffer.getvalue().encode())
    upload.name = name
    return upload


def xlsx_file(rows, name="lines.xlsx"):
    book = openpyxl.Workbook()
    sheet = book.active
    for row in rows:
        sheet.append(row)
    upload = io.BytesIO()
    book.save(upload)
    upload.seek(0)
    upload.name = name
    return upload


HEADER = ["external_id", "account", "posting_date", "amount", "currency", "description"]


def start_import(staff, upload, source, fmt="0", keep_invalid=False):
    data = {"import_file": upload, "format": fmt, "resource": "0", "source": source.pk}
    if keep_invalid:
        data["keep_invalid"] = "on"
    return staff.post(reverse("admin:records_glline_import"), data)


def confirm_import(staff, response):
    confirm = response.context["confirm_form"]
    return staff.post(reverse("admin:records_glline_process_import"), confirm.initial)


def test_csv_import_preview_then_confirm(staff, superuser, source):
    ingest_records(source=source, entity="gl_lines", records=[line("l-1")], actor=Actor())
    upload = csv_file(
        [
            HEADER,
            ["l-1", "acc-1", "2026-01-05", "10.00", "EUR", ""],  # unchanged
            ["l-2", "acc-1", "2026-01-06", "-5.50", "EUR", "refund"],
        ]
    )
    response = start_import(staff, upload, source)
    assert response.status_code == 200
    result = response.context["result"]
    assert not result.has_validation_errors()
    assert [row.import_type for row in result.rows] == ["skip", "new"]
    assert m.GLLine.objects.count() == 1  # the preview wrote nothing
    response = confirm_import(staff, response)
    assert response.status_code == 302
    created = m.GLLine.objects.get(external_id="l-2")
    assert created.amount == Decimal("-5.50")
    assert (created.last_batch.via, created.last_batch.user) == ("import", superuser)


def test_csv_import_shows_row_errors_and_writes_nothing(staff, source):
    upload = csv_file(
        [
            HEADER,
            ["l-1", "acc-1", "2026-01-05", "10.00", "EUR", ""],
            ["l-2", "acc-1", "2026-01-05", "1.005", "XXX", ""],
        ]
    )
    response = start_import(staff, upload, source)
    result = response.context["result"]
    assert result.has_validation_errors()
    [invalid] = result.invalid_rows
    assert invalid.number == 2
    assert set(invalid.field_specific_errors) == {"amount", "currency"}
    assert "confirm_form" not in response.context
    assert not m.GLLine.objects.exists()
    assert not m.RejectedRecord.objects.exists()


def test_csv_import_can_keep_invalid_rows_as_rejected(staff, source):
    upload = csv_file(
        [
            HEADER,
            ["l-1", "acc-1", "2026-01-05", "10.00", "EUR", ""],
            ["l-2", "acc-1", "2026-01-05", "1.005", "EUR", ""],
        ]
    )
    response = start_import(staff, upload, source, keep_invalid=True)
    rows = response.context["result"].rows
    assert [r.import_type for r in rows] == ["new", "skip"]
    assert "no more than 2 decimal places" in rows[1].diff[-1]
    confirm_import(staff, response)
    assert m.GLLine.objects.get().external_id == "l-1"
    assert m.RejectedRecord.objects.get().external_id == "l-2"


def test_csv_import_duplicate_external_id_and_unknown_column(staff, source):
    upload = csv_file([[*HEADER, "colour"], ["l-1", "acc-1", "2026-01-05", "1", "EUR", "", "red"]])
    result = start_import(staff, upload, source).context["result"]
    assert result.invalid_rows[0].field_specific_errors == {"colour": ["Unknown field."]}
    upload = csv_file([HEADER, ["l-1", "a", "2026-01-05", "1", "EUR", ""]] * 2)
    result = start_import(staff, upload, source).context["result"]
    assert "Duplicate external_id" in str(result.invalid_rows[0].error_dict)


def test_import_row_limit(staff, source, monkeypatch):
    monkeypatch.setattr("records.resources.IMPORT_MAX_ROWS", 1)
    upload = csv_file([HEADER, *[[f"l-{i}", "a", "2026-01-05", "1", "EUR", ""] for i in range(2)]])
    result = start_import(staff, upload, source).context["result"]
    assert "At most 1 rows per file" in str(result.base_errors[0].error)


def test_import_size_limit(staff, source, monkeypatch):
    monkeypatch.setattr("records.admin.IMPORT_MAX_BYTES", 10)
    response = start_import(staff, csv_file([HEADER]), source)
    assert "the limit is 10" in str(response.context["form"].errors)


def test_xlsx_import_flags_formula_cells_and_reads_numbers_exactly(staff, source):
    upload = xlsx_file(
        [
            HEADER,
            ["l-1", "acc-1", "2026-01-05", 10.1, "EUR", "plain"],
            ["l-2", "acc-1", "2026-01-05", "=SUM(D2:D2)", "EUR", ""],
        ]
    )
    result = start_import(staff, upload, source, fmt="1").context["result"]
    [invalid] = result.invalid_rows
    assert "Formula cell (=SUM(D2:D2))" in invalid.field_specific_errors["amount"][0]
    upload = xlsx_file([HEADER, ["l-1", "acc-1", "2026-01-05", 10.1, "EUR", "plain"]])
    response = start_import(staff, upload, source, fmt="1")
    confirm_import(staff, response)
    assert m.GLLine.objects.get().amount == Decimal("10.10")


def test_xlsx_reader_keeps_formula_text():
    upload = xlsx_file([["a", "b"], [1, "=A2*2"]])
    dataset = XLSX().create_dataset(upload.read())
    assert dataset[0] == (1, "=A2*2")


# --- export -------------------------------------------------------------------------------------


@pytest.mark.parametrize("text", ["=1+2", "+1", "-1", "@SUM(A1)", "\tx", "\rx"])
def test_neutralise_formula_text(text):
    assert neutralise(text) == "'" + text


def test_neutralise_leaves_numbers():
    assert neutralise(Decimal("-5.00")) == Decimal("-5.00")
    assert neutralise(-3) == -3
    assert neutralise("plain") == "plain"


def export(staff, fmt):
    return staff.post(reverse("admin:records_glline_export"), {"format": fmt, "resource": "0"})


def test_export_neutralises_text_and_keeps_negative_numbers(staff, source):
    ingest_records(
        source=source,
        entity="gl_lines",
        records=[
            line("l-1", amount="-12.50", description='=HYPERLINK("http://x")'),
            line("l-2", description="-minus"),
            line("l-3", description="@at"),
        ],
        actor=Actor(),
    )
    response = export(staff, "1")
    assert response.status_code == 200
    book = openpyxl.load_workbook(io.BytesIO(response.content))
    rows = list(book.active.iter_rows(values_only=True))
    header = rows[0]
    by_id = {row[header.index("external_id")]: row for row in rows[1:]}
    amount = by_id["l-1"][header.index("amount")]
    assert isinstance(amount, float | int | Decimal) and Decimal(str(amount)) == Decimal("-12.5")
    assert by_id["l-1"][header.index("description")] == '\'=HYPERLINK("http://x")'
    assert by_id["l-2"][header.index("description")] == "'-minus"
    assert by_id["l-3"][header.index("description")] == "'@at"
    assert by_id["l-1"][header.index("account")] == "acc-1"

    response = export(staff, "0")
    text = response.content.decode()
    assert "-12.50" in text and "'-12.50" not in text
    assert "'-minus" in text


def test_exported_file_reimports_unchanged(staff, source):
    ingest_records(
        source=source,
        entity="gl_lines",
        records=[line("l-1", updated_at="2026-01-05T10:00:00Z"), line("l-2", amount="-3.00")],
        actor=Actor(),
    )
    content = export(staff, "0").content
    rows = list(csv.reader(io.StringIO(content.decode())))
    response = start_import(staff, csv_file(rows), source)
    result = response.context["result"]
    assert not result.has_validation_errors(), result.invalid_rows
    assert [row.import_type for row in result.rows] == ["skip", "skip"]


def test_admin_delete_is_recorded_and_references_become_pending(staff, superuser, source):
    ingest_records(
        source=source,
        entity="accounts",
        records=[{"external_id": "acc-1", "code": "6100", "name": "Ads", "type": "expense"}],
        actor=Actor(),
    )
    ingest_records(source=source, entity="gl_lines", records=[line("l-1")], actor=Actor())
    account = m.Account.objects.get()
    staff.post(
        reverse("admin:records_account_changelist"),
        {"action": "delete_selected", "_selected_action": [account.pk], "post": "yes"},
    )
    assert not m.Account.objects.exists()
    batch = m.IngestBatch.objects.get(deleted=1)
    assert (batch.user, batch.via, batch.deleted_external_ids) == (superuser, "admin", ["acc-1"])
    gl = m.GLLine.objects.get()
    assert (gl.account_id, gl.account_external_id) == (None, "acc-1")


def test_import_and_export_pages_render(staff):
    response = staff.get(reverse("admin:records_glline_import"))
    assert response.status_code == 200
    page = response.content.decode()
    assert "posting_date" in page and 'name="source"' in page and 'name="keep_invalid"' in page
    assert staff.get(reverse("admin:records_glline_export")).status_code == 200


def test_admin_add_deal_maps_api_names_to_columns(staff, source):
    data = {
        "source": source.pk,
        "external_id": "d-1",
        "amount": "100.00",
        "currency": "USD",
        "status": "won",
        "opened_at_0": "2026-02-01",
        "opened_at_1": "10:00:00",
        "closed_at_0": "2026-01-01",
        "closed_at_1": "10:00:00",
    }
    response = staff.post(reverse("admin:records_deal_add"), data)
    assert response.status_code == 200
    assert "Must be on or after created_at." in str(response.context["adminform"].form.errors)
    data["closed_at_0"] = "2026-03-01"
    response = staff.post(reverse("admin:records_deal_add"), data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    deal = m.Deal.objects.get()
    assert (deal.status, deal.amount, deal.last_batch.via) == ("won", Decimal("100.00"), "admin")
