"""Property: whatever amounts are ingested, the stored ones sum to the same total, to the cent."""

import itertools
from decimal import Decimal

import pytest
from django.conf import settings
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from records.ingestion.services import Actor, ingest_records
from records.models import GLLine, IngestBatch
from tests.factories import ConnectorFactory

# PostgreSQL stores numeric(18, 2) exactly; SQLite keeps 15 significant digits.
LIMIT = (
    Decimal("9999999999999999.99") if settings.DATABASE_IS_POSTGRES else Decimal("999999999999.99")
)
amounts = st.decimals(min_value=-LIMIT, max_value=LIMIT, places=2, allow_nan=False)
as_sent = st.sampled_from([lambda d: d, str, lambda d: int(d) if d == int(d) else d])
_ids = itertools.count()


@pytest.mark.django_db
@hsettings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    batches=st.lists(st.lists(st.tuples(amounts, as_sent), max_size=30), min_size=1, max_size=3),
    resend=st.one_of(st.none(), amounts),
)
def test_sum_stored_equals_sum_ingested(batches, resend):
    GLLine.objects.all().delete()
    IngestBatch.objects.all().delete()
    source = ConnectorFactory(name="ERP")
    expected = {}
    for batch in batches:
        records = []
        for amount, send in batch:
            ext = f"l-{next(_ids)}"
            expected[ext] = amount
            records.append(
                {
                    "external_id": ext,
                    "account": "a",
                    "posting_date": "2026-01-01",
                    "amount": send(amount),
                    "currency": "USD",
                }
            )
        result = ingest_records(source=source, entity="gl_lines", records=records, actor=Actor())
        assert result.rejected == 0
        if resend is not None and records:
            # Re-sending a stored record with a new amount replaces it, never adds to it.
            again = {**records[0], "amount": str(resend)}
            result = ingest_records(
                source=source, entity="gl_lines", records=[again], actor=Actor()
            )
            assert (result.created, result.rejected) == (0, 0)
            expected[again["external_id"]] = resend
    stored = list(GLLine.objects.filter(source=source).values_list("amount", flat=True))
    assert len(stored) == len(expected)
    assert sum(stored, Decimal(0)) == sum(expected.values(), Decimal(0))
