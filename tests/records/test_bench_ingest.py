"""The benchmark command runs end to end (engine mode; the HTTP mode needs a live server)."""

import io

import pytest
from django.core.management import call_command

from connectors.models import Connector
from records.models import GLLine


@pytest.mark.django_db
def test_bench_ingest_engine_mode_loads_and_cleans_up(settings):
    out = io.StringIO()
    call_command("bench_ingest", rows=120, batch=50, engine_only=True, stdout=out)
    text = out.getvalue()
    assert "engine (in process, no HTTP): 120 rows" in text
    if settings.DATABASE_IS_POSTGRES:
        assert "raw COPY into a bare scratch table" in text
        assert "API/COPY" in text
    else:
        assert "COPY baseline skipped" in text
    assert not GLLine.objects.exists()
    assert not Connector.objects.filter(name__startswith="bench-").exists()
