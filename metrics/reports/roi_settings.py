"""The settings retention and product ROI reports read (docs/metrics.md, "Retention, cohorts
and customer-success ROI" and "Product development ROI"), checked again when read: a test or
a shell may override them after startup, and a bad value must fail loudly, never compute."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from metrics.computations.retention import DEFAULT_BASELINE_MONTHS, DEFAULT_VALUE_HORIZON_MONTHS

DEFAULT_CS_DEPARTMENTS = ("Customer Success",)
DEFAULT_PRODUCT_DEPARTMENTS = ("Product", "Engineering")


def _departments(name: str, default: tuple[str, ...]) -> list[str]:
    value = [str(item).strip() for item in getattr(settings, name, default) if str(item).strip()]
    if not value:
        raise ImproperlyConfigured(f"{name} must name at least one department (name or code)")
    return value


def _months(name: str, default: int) -> int:
    value = getattr(settings, name, default)
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ImproperlyConfigured(f"{name} must be a positive whole number of months")
    return value


def cs_departments() -> list[str]:
    """Department names or codes whose GL lines are the customer-success cost."""
    return _departments("FINHUB_CS_DEPARTMENTS", DEFAULT_CS_DEPARTMENTS)


def product_departments() -> list[str]:
    """Department names or codes whose GL lines are product development cost."""
    return _departments("FINHUB_PRODUCT_DEPARTMENTS", DEFAULT_PRODUCT_DEPARTMENTS)


def value_horizon_months() -> int:
    return _months("FINHUB_VALUE_HORIZON_MONTHS", DEFAULT_VALUE_HORIZON_MONTHS)


def baseline_months_count() -> int:
    return _months("FINHUB_BASELINE_MONTHS", DEFAULT_BASELINE_MONTHS)
