"""Product development initiatives, their costs and the revenue / retention credited to them."""

from django.db import models

from .base import (
    SourcedRecord,
    date_order,
    money_field,
    non_negative,
    pending_index,
    ref,
    ref_external_id,
    scale_check,
    source_unique,
)
from .finance import currency_fk


class Initiative(SourcedRecord):
    """A development initiative: product, owner, dates, cost center."""

    name = models.CharField(max_length=200)
    product = models.CharField(max_length=200, blank=True)
    owner = models.CharField(max_length=200, blank=True)
    start_date = models.DateField(null=True, blank=True)
    end_date = models.DateField(null=True, blank=True)
    department = ref("records.Department")
    department_external_id = ref_external_id()

    class Meta:
        db_table = "metrics_initiative"  # kept from before the move to records
        ordering = ["name"]
        constraints = [
            source_unique("initiative"),
            date_order("start_date", "end_date", "initiative"),
        ]
        indexes = [pending_index("department", "initiative")]


class InitiativeCost(SourcedRecord):
    """A cost of an initiative: from a GL cost center, or time entries x rate.

    For time entries ``amount`` is ``hours x hourly_rate`` (checked on ingestion).
    """

    class Kind(models.TextChoices):
        GL = "gl", "General ledger"
        TIME = "time", "Time entries x rate"
        OTHER = "other", "Other"

    initiative = ref(Initiative)
    initiative_external_id = ref_external_id()
    date = models.DateField()
    kind = models.CharField(max_length=10, choices=Kind.choices)
    hours = models.DecimalField(max_digits=10, decimal_places=2, null=True, blank=True)
    hourly_rate = money_field(null=True, blank=True)
    amount = money_field()
    currency = currency_fk()
    description = models.CharField(max_length=500, blank=True)

    class Meta:
        db_table = "metrics_initiativecost"  # kept from before the move to records
        ordering = ["-date", "id"]
        constraints = [
            source_unique("initiativecost"),
            scale_check("amount", "initiativecost"),
            non_negative("amount", "initiativecost"),
            non_negative("hours", "initiativecost"),
            non_negative("hourly_rate", "initiativecost"),
        ]
        indexes = [
            # Initiative ROI: SUM(amount) per initiative WHERE date in period.
            models.Index(fields=["initiative", "date"], name="m_initcost_init_date"),
            pending_index("initiative", "initiativecost"),
        ]


class InitiativeBenefit(SourcedRecord):
    """Revenue or retained MRR credited to an initiative for a period."""

    class Kind(models.TextChoices):
        REVENUE = "revenue", "Revenue"
        RETENTION = "retention", "Retained MRR"

    initiative = ref(Initiative)
    initiative_external_id = ref_external_id()
    date = models.DateField()
    kind = models.CharField(max_length=10, choices=Kind.choices)
    amount = money_field()
    currency = currency_fk()
    description = models.CharField(max_length=500, blank=True)

    class Meta:
        db_table = "metrics_initiativebenefit"  # kept from before the move to records
        ordering = ["-date", "id"]
        constraints = [
            source_unique("initiativebenefit"),
            scale_check("amount", "initiativebenefit"),
        ]
        indexes = [
            # Initiative ROI: SUM(amount) per initiative and kind WHERE date in period.
            models.Index(fields=["initiative", "date"], name="m_initben_init_date"),
            pending_index("initiative", "initiativebenefit"),
        ]
