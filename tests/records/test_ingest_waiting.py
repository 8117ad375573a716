"""The ingest result names the references left pending (#18, item 3): ``pending`` counts the
rows, ``waiting`` lists each reference; a reference resolved within the same request is not
reported; the batch keeps the count; the admin lists the waiting rows."""

import pytest
from django.urls import reverse

from records.ingestion.services import Actor, ingest_records
from records.models import IngestBatch
from tests.factories import ConnectorFactory

pytestmark = pytest.mark.django_db


def ingest(source, entity, records):
    return ingest_records(source=source, entity=entity, records=records, actor=Actor())


def line(ext, account, **refs):
    return {
        "external_id": ext,
        "account": account,
        "posting_date": "2026-01-15",
        "amount": "10.00",
        "currency": "EUR",
        **refs,
    }


@pytest.fixture
def source():
    source = ConnectorFactory()
    ingest(
        source, "accounts", [{"external_id": "A1", "code": "A1", "name": "a", "type": "revenue"}]
    )
    return source


def test_pending_rows_and_their_waiting_references(source):
    result = ingest(
        source,
        "gl_lines",
        [
            line("L1", "A1"),
            line("L2", "NOPE", department="D9"),  # two references waiting: one row
            line("L3", "A1", customer="C7"),
        ],
    )
    assert result.pending == 2
    assert [w.as_dict() for w in result.waiting] == [
        {"index": 1, "external_id": "L2", "field": "account", "reference": "NOPE"},
        {"index": 1, "external_id": "L2", "field": "department", "reference": "D9"},
        {"index": 2, "external_id": "L3", "field": "customer", "reference": "C7"},
    ]
    assert result.as_dict()["pending"] == 2
    assert IngestBatch.objects.get(pk=result.batch_id).pending == 2

    again = ingest(source, "gl_lines", [line("L2", "NOPE", department="D9")])  # unchanged
    assert (again.unchanged, again.pending) == (1, 1)


def test_a_reference_sent_in_the_same_request_is_not_reported(source):
    result = ingest(
        source,
        "departments",
        [
            {"external_id": "D2", "name": "Child", "parent": "D1"},
            {"external_id": "D1", "name": "Parent"},
        ],
    )
    assert (result.created, result.pending, result.waiting) == (2, 0, [])


def test_the_admin_lists_the_waiting_rows(client, superuser, source):
    # Ids with a hyphen: a page's CSRF token (letters and digits) cannot contain them.
    ingest(source, "gl_lines", [line("GL-READY-1", "A1"), line("GL-WAIT-2", "NOPE")])
    client.force_login(superuser)
    url = reverse("admin:records_glline_changelist")

    waiting = client.get(url, {"pending": "any"}).content.decode()
    assert "GL-WAIT-2" in waiting and "GL-READY-1" not in waiting
    assert "account NOPE" in waiting  # the Waiting for column
    assert "GL-READY-1" in client.get(url, {"pending": "none"}).content.decode()
    assert "GL-WAIT-2" in client.get(url, {"pending": "account"}).content.decode()
    assert "GL-WAIT-2" not in client.get(url, {"pending": "customer"}).content.decode()
