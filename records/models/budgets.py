"""Budgets: a budget per fiscal year and version, and its lines per account x department x month."""

from django.db import models

from .base import (
    SourcedRecord,
    money_field,
    pending_index,
    ref,
    ref_external_id,
    scale_check,
    source_unique,
)
from .finance import currency_fk


class Budget(SourcedRecord):
    """One version of a fiscal year's budget: 0 = original, 1 = reforecast 1, 2 = reforecast 2…

    At most one version per source and fiscal year is the current one (a database constraint);
    ingesting a version marked current un-marks the previous one.
    """

    name = models.CharField(max_length=200)
    fiscal_year = models.PositiveSmallIntegerField()
    version = models.PositiveSmallIntegerField(default=0)
    is_current = models.BooleanField(default=False)

    class Meta:
        db_table = "metrics_budget"  # kept from before the move to records
        ordering = ["-fiscal_year", "-version"]
        constraints = [
            source_unique("budget"),
            models.UniqueConstraint(
                fields=["source", "fiscal_year", "version"], name="metrics_budget_fy_version"
            ),
            models.UniqueConstraint(
                fields=["source", "fiscal_year"],
                condition=models.Q(is_current=True),
                name="metrics_budget_one_current",
            ),
            models.CheckConstraint(
                condition=models.Q(fiscal_year__gte=1900, fiscal_year__lte=2200),
                name="metrics_budget_fiscal_year_range",
            ),
        ]

    @property
    def version_label(self) -> str:
        return "Original" if self.version == 0 else f"Reforecast {self.version}"

    def __str__(self) -> str:
        return f"{self.name} FY{self.fiscal_year} {self.version_label}"


class BudgetLine(SourcedRecord):
    """Budgeted amount for an account x department x month, optionally per campaign/initiative."""

    budget = ref(Budget)
    budget_external_id = ref_external_id()
    account = ref("records.Account")
    account_external_id = ref_external_id()
    department = ref("records.Department")
    department_external_id = ref_external_id()
    month = models.DateField(help_text="First day of the month.")
    amount = money_field()
    currency = currency_fk()
    campaign = ref("records.Campaign")
    campaign_external_id = ref_external_id()
    initiative = ref("records.Initiative")
    initiative_external_id = ref_external_id()

    class Meta:
        db_table = "metrics_budgetline"  # kept from before the move to records
        ordering = ["month", "id"]
        constraints = [
            source_unique("budgetline"),
            scale_check("amount", "budgetline"),
            models.CheckConstraint(
                condition=models.Q(month__day=1), name="metrics_budgetline_month_first_day"
            ),
        ]
        indexes = [
            # Budget vs actual: SUM(amount) WHERE budget = current GROUP BY account, dept, month.
            models.Index(fields=["budget", "month", "account"], name="m_budgetline_budget_month"),
            pending_index("budget", "budgetline"),
            pending_index("account", "budgetline"),
            pending_index("department", "budgetline"),
            pending_index("campaign", "budgetline"),
            pending_index("initiative", "budgetline"),
        ]
