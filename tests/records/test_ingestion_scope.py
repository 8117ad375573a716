"""References across connectors (reference_sources) and records deleted at the source."""

import datetime as dt
from decimal import Decimal

import pytest
from django.db.models import Sum
from django.utils import timezone

from records import models as m
from records.ingestion.services import Actor, ingest_records
from tests.factories import ConnectorFactory

pytestmark = pytest.mark.django_db


def ingest(source, entity, records):
    return ingest_records(source=source, entity=entity, records=records, actor=Actor(via="sync"))


def contact(ext, name="Ada"):
    return {"external_id": ext, "name": name}


def deal(ext, contact_ext, amount="100.00"):
    return {
        "external_id": ext,
        "contact": contact_ext,
        "amount": amount,
        "currency": "USD",
        "status": "open",
        "created_at": "2026-01-05T10:00:00Z",
    }


@pytest.fixture
def marketing():
    return ConnectorFactory(name="Marketing")


@pytest.fixture
def crm(marketing):
    connector = ConnectorFactory(name="CRM")
    connector.reference_sources.add(marketing)
    return connector


def test_reference_resolves_in_a_reference_source(marketing, crm):
    ingest(marketing, "contacts", [contact("c-1")])
    ingest(crm, "deals", [deal("d-1", "c-1")])
    assert m.Deal.objects.get().contact == m.Contact.objects.get(source=marketing)


def test_pending_reference_resolves_when_the_record_arrives_in_the_reference_source(marketing, crm):
    ingest(crm, "deals", [deal("d-1", "c-9")])
    assert m.Deal.objects.get().contact_id is None
    ingest(marketing, "contacts", [contact("c-9")])
    assert m.Deal.objects.get().contact.external_id == "c-9"


def test_own_source_takes_precedence_over_reference_sources(marketing, crm):
    ingest(marketing, "contacts", [contact("c-1", "Theirs")])
    ingest(crm, "contacts", [contact("c-1", "Ours")])
    ingest(crm, "deals", [deal("d-1", "c-1")])
    assert m.Deal.objects.get().contact.name == "Ours"


def test_reference_sources_are_one_way(marketing, crm):
    # Marketing did not name CRM: its references do not resolve into CRM's records.
    ingest(crm, "channels", [{"external_id": "ch-1", "name": "Email"}])
    ingest(marketing, "campaigns", [{"external_id": "cmp-1", "name": "Spring", "channel": "ch-1"}])
    assert m.Campaign.objects.get().channel_id is None


def test_deleted_records_leave_the_default_manager_but_stay_stored(marketing):
    ingest(marketing, "contacts", [contact("c-1"), contact("c-2")])
    m.Contact.all_objects.filter(external_id="c-1").update(deleted_at=timezone.now())
    assert list(m.Contact.objects.values_list("external_id", flat=True)) == ["c-2"]
    assert m.Contact.all_objects.count() == 2


def test_resending_a_deleted_record_revives_it_and_counts_as_updated(marketing):
    ingest(marketing, "contacts", [contact("c-1")])
    m.Contact.all_objects.update(deleted_at=timezone.now())
    result = ingest(marketing, "contacts", [contact("c-1")])
    assert (result.created, result.updated, result.unchanged) == (0, 1, 0)
    assert m.Contact.objects.get().deleted_at is None


def test_a_reference_to_a_deleted_record_stays_pending(marketing, crm):
    ingest(marketing, "contacts", [contact("c-1")])
    m.Contact.all_objects.update(deleted_at=timezone.now())
    ingest(crm, "deals", [deal("d-1", "c-1")])
    stored = m.Deal.objects.get()
    assert (stored.contact_id, stored.contact_external_id) == (None, "c-1")


def test_deleted_rows_are_left_out_of_figures(marketing):
    lines = [
        {
            "external_id": f"l-{i}",
            "account": "a-1",
            "posting_date": dt.date(2026, 1, 5),
            "amount": Decimal("10.00"),
            "currency": "USD",
        }
        for i in range(3)
    ]
    ingest(marketing, "gl_lines", lines)
    m.GLLine.all_objects.filter(external_id="l-0").update(deleted_at=timezone.now())
    assert m.GLLine.objects.aggregate(total=Sum("amount"))["total"] == Decimal("20.00")
