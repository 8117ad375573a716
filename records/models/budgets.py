"""Budgets: a budget per fiscal year and version, and its lines per account x department x month.

A budget is a plan (a version a source sent) or a scenario: a copy of a version made in FinHub
whose lines are the base version's lines changed by its drivers (``ScenarioDriver``,
``metrics.scenarios``). A scenario can never be the current version, so budget vs actual uses
it only when it is chosen explicitly.
"""

from django.conf import settings
from django.db import models

from .base import (
    SourcedRecord,
    freshness_index,
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
    ingesting a version marked current un-marks the previous one. A scenario (``kind``) belongs
    to FinHub's internal "Scenarios" connector and is never current (a database constraint).
    """

    class Kind(models.TextChoices):
        PLAN = "plan", "Plan"
        SCENARIO = "scenario", "Scenario"

    name = models.CharField(max_length=200)
    fiscal_year = models.PositiveSmallIntegerField()
    version = models.PositiveSmallIntegerField(default=0)
    is_current = models.BooleanField(default=False)
    # db_default: the ingestion upsert inserts only the columns an integrator sends.
    kind = models.CharField(
        max_length=10, choices=Kind.choices, default=Kind.PLAN, db_default=Kind.PLAN
    )
    based_on = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="scenarios",
        help_text="The budget version a scenario was copied from.",
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_index=False,
    )

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
            # Budget vs actual defaults to the current versions: a scenario must never be one.
            models.CheckConstraint(
                condition=~models.Q(kind="scenario", is_current=True),
                name="metrics_budget_scenario_not_current",
            ),
        ]

    @property
    def is_scenario(self) -> bool:
        return self.kind == self.Kind.SCENARIO

    @property
    def version_label(self) -> str:
        if self.is_scenario:
            return f"Scenario: {self.name}"
        return "Original" if self.version == 0 else f"Reforecast {self.version}"

    def __str__(self) -> str:
        if self.is_scenario:
            return f"{self.version_label} (FY{self.fiscal_year})"
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
            freshness_index("budgetline"),
            # Budget vs actual: SUM(amount) WHERE budget = current GROUP BY account, dept, month.
            models.Index(fields=["budget", "month", "account"], name="m_budgetline_budget_month"),
            pending_index("budget", "budgetline"),
            pending_index("account", "budgetline"),
            pending_index("department", "budgetline"),
            pending_index("campaign", "budgetline"),
            pending_index("initiative", "budgetline"),
        ]


class ScenarioDriver(models.Model):
    """One change a scenario makes to its base version's lines: ``percent`` (10 = +10%) on the
    lines of an account group, a channel's campaigns or a department's headcount cost, from
    ``from_month`` on (empty: the month after the last closed month, so actuals' months keep
    the base budget). ``metrics.scenarios.scenario_apply_drivers`` recomputes the lines."""

    class Kind(models.TextChoices):
        GROWTH = "growth", "Growth of an account group"
        CHANNEL_SPEND = "channel_spend", "Spend of a channel"
        HEADCOUNT = "headcount", "Headcount cost of a department"

    scenario = models.ForeignKey(
        Budget,
        on_delete=models.CASCADE,
        related_name="drivers",
        limit_choices_to={"kind": Budget.Kind.SCENARIO},
    )
    kind = models.CharField(max_length=20, choices=Kind.choices)
    target = models.CharField(
        max_length=200,
        help_text=(
            "Growth: an account type (revenue, expense…) or an account code prefix (61); "
            "channel spend: the channel's name; headcount: the department's code or name."
        ),
    )
    percent = models.DecimalField(
        max_digits=7, decimal_places=2, help_text="Change in percent: 10 = +10%, -5 = -5%."
    )
    from_month = models.DateField(
        null=True,
        blank=True,
        help_text="First day of the first month changed; empty: the month after the last "
        "closed month, written in when the drivers are applied.",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "metrics_scenariodriver"
        ordering = ["scenario", "id"]
        constraints = [
            # A cut of more than 100% would turn costs into income.
            models.CheckConstraint(
                condition=models.Q(percent__gte=-100), name="metrics_scenariodriver_percent_gte"
            ),
            models.CheckConstraint(
                condition=models.Q(from_month__isnull=True) | models.Q(from_month__day=1),
                name="metrics_scenariodriver_from_month_first_day",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.target}: {self.percent:+}%"
