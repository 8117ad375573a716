"""The seeded currencies come back after a flush (post_migrate), as the roles do."""

import pytest
from django.core.management import call_command

from records.currencies import currencies_ensure
from records.models import Currency


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_flush_keeps_the_seeded_currencies():
    seeded = Currency.objects.count()
    assert seeded >= 40
    call_command("flush", interactive=False, verbosity=0)
    assert Currency.objects.count() == seeded
    assert Currency.objects.get(code="USD").minor_units == 2


@pytest.mark.django_db
def test_ensure_adds_only_the_missing_ones():
    Currency.objects.filter(code__in=["EUR", "GBP"]).delete()
    assert currencies_ensure() == 2
    assert currencies_ensure() == 0
