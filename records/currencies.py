"""The ISO 4217 currencies FinHub accepts, kept present after every migrate.

Migration 0002 seeds them; this post_migrate hook re-adds any that are missing, because a
database flush (``manage.py flush``, or a transactional test's teardown) empties the table
while the migrations still count as applied — and without currencies every amount is
rejected as "unknown currency".
"""

import importlib


def currencies_ensure(*, using: str = "default", **kwargs) -> int:
    """Create the seeded currencies that are missing; returns how many were created."""
    from records.models import Currency

    seeded = importlib.import_module("metrics.migrations.0002_seed_currencies").CURRENCIES
    present = set(Currency.objects.using(using).values_list("code", flat=True))
    missing = [
        Currency(code=code, name=name, minor_units=minor)
        for code, name, minor in seeded
        if code not in present
    ]
    Currency.objects.using(using).bulk_create(missing)
    return len(missing)
