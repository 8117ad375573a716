"""The benchmarks' bulk loader (records/ingestion/bulk.py) on the generated company."""

import datetime as dt

import pytest

from connectors.sandbox.company import generate
from records import models as m
from records.ingestion.bulk import records_bulk_load
from tests.factories import ConnectorFactory

pytestmark = pytest.mark.django_db


def test_the_loader_inserts_every_row_and_resolves_references():
    company = generate(seed=7, scale=0.02, end_month=dt.date(2026, 10, 1))
    source = ConnectorFactory()
    counts = records_bulk_load(company.entities, source=source)
    assert counts == {name: len(rows) for name, rows in company.entities.items()}
    assert m.GLLine.objects.filter(source=source).count() == len(company.entities["gl_lines"])
    assert not m.GLLine.objects.filter(account__isnull=True).exists()
    # Self references (a department's parent) are resolved too.
    parents = [d for d in company.entities["departments"] if d.get("parent")]
    assert parents
    assert not m.Department.objects.filter(parent__isnull=True).exclude(parent_external_id="")


def test_only_the_chosen_entities_load_and_their_references_stay_pending():
    company = generate(seed=7, scale=0.02, end_month=dt.date(2026, 10, 1))
    counts = records_bulk_load(company.entities, source=ConnectorFactory(), entities=["deals"])
    assert list(counts) == ["deals"]
    assert m.Deal.objects.exclude(contact_external_id="").filter(contact__isnull=True).exists()
