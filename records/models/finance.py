"""Finance: currencies, FX rates, departments, chart of accounts, ledger lines, invoices."""

from django.db import models

from .base import (
    SourcedRecord,
    date_order,
    freshness_index,
    money_field,
    non_negative,
    pending_index,
    ref,
    ref_external_id,
    scale_check,
    source_unique,
)


class Currency(models.Model):
    """An ISO 4217 currency FinHub accepts (seeded by a data migration).

    Every money column sits beside a foreign key to this table, so an unknown currency code
    cannot be stored.
    """

    code = models.CharField(max_length=3, primary_key=True)
    name = models.CharField(max_length=100)
    minor_units = models.PositiveSmallIntegerField(default=2)
    active = models.BooleanField(default=True)

    class Meta:
        db_table = "metrics_currency"  # kept from before the move to records
        ordering = ["code"]
        verbose_name_plural = "currencies"
        constraints = [
            models.CheckConstraint(
                condition=models.Q(code__regex=r"^[A-Z]{3}$"), name="metrics_currency_code_iso"
            ),
        ]

    def __str__(self) -> str:
        return self.code


def currency_fk(**kwargs) -> models.ForeignKey:
    return models.ForeignKey(
        Currency,
        on_delete=models.PROTECT,
        related_name="+",
        db_column="currency",
        db_index=False,  # a handful of values; never filtered alone
        **kwargs,
    )


class FxRate(SourcedRecord):
    """A daily rate: 1 unit of ``currency`` = ``rate`` units of ``quote_currency``.

    The quote currency is normally the reporting currency (FINHUB_REPORTING_CURRENCY).
    """

    currency = currency_fk()
    quote_currency = models.ForeignKey(
        Currency,
        on_delete=models.PROTECT,
        related_name="+",
        db_column="quote_currency",
        db_index=False,
    )
    date = models.DateField()
    rate = models.DecimalField(max_digits=20, decimal_places=10)

    class Meta:
        db_table = "metrics_fxrate"  # kept from before the move to records
        ordering = ["-date", "currency"]
        verbose_name = "FX rate"
        constraints = [
            source_unique("fxrate"),
            models.CheckConstraint(condition=models.Q(rate__gt=0), name="metrics_fxrate_rate_gt_0"),
        ]
        indexes = [
            # Converting a transaction: the rate of (currency, quote) on or before its date.
            models.Index(fields=["currency", "quote_currency", "date"], name="m_fxrate_pair_date"),
        ]


class Department(SourcedRecord):
    """A department / cost center."""

    name = models.CharField(max_length=200)
    code = models.CharField(max_length=50, blank=True)
    parent = ref("records.Department")
    parent_external_id = ref_external_id()

    class Meta:
        db_table = "metrics_department"  # kept from before the move to records
        ordering = ["name"]
        constraints = [source_unique("department")]
        indexes = [pending_index("parent", "department")]


class Account(SourcedRecord):
    """An account of the chart of accounts."""

    class Type(models.TextChoices):
        REVENUE = "revenue", "Revenue"
        COST_OF_SALES = "cost_of_sales", "Cost of sales"
        EXPENSE = "expense", "Expense"
        ASSET = "asset", "Asset"
        LIABILITY = "liability", "Liability"
        EQUITY = "equity", "Equity"

    code = models.CharField(max_length=50)
    name = models.CharField(max_length=200)
    type = models.CharField(max_length=20, choices=Type.choices)
    # Sales & marketing cost (CAC, docs/metrics.md#cac-ltv-and-payback) is read from accounts
    # flagged here.
    is_sales_marketing = models.BooleanField(default=False)

    class Meta:
        db_table = "metrics_account"  # kept from before the move to records
        ordering = ["code"]
        constraints = [
            source_unique("account"),
            models.CheckConstraint(
                condition=models.Q(
                    type__in=["revenue", "cost_of_sales", "expense", "asset", "liability", "equity"]
                ),
                name="metrics_account_type",
            ),
        ]
        indexes = [
            # Budget vs actual and P&L group ledger lines by account type.
            models.Index(fields=["type", "code"], name="m_account_type_code"),
        ]


class GLLine(SourcedRecord):
    """A general-ledger line: signed amount posted to an account (and department) on a day."""

    account = ref(Account)
    account_external_id = ref_external_id()
    department = ref(Department)
    department_external_id = ref_external_id()
    posting_date = models.DateField()
    amount = money_field()
    currency = currency_fk()
    description = models.CharField(max_length=500, blank=True)
    campaign = ref("records.Campaign")
    campaign_external_id = ref_external_id()
    initiative = ref("records.Initiative")
    initiative_external_id = ref_external_id()
    customer = ref("records.Customer")
    customer_external_id = ref_external_id()

    class Meta:
        db_table = "metrics_glline"  # kept from before the move to records
        ordering = ["-posting_date", "id"]
        verbose_name = "GL line"
        constraints = [source_unique("glline"), scale_check("amount", "glline")]
        indexes = [
            freshness_index("glline"),
            # Budget vs actual: SUM(amount) GROUP BY account, department, month WHERE date range.
            models.Index(
                fields=["posting_date", "account", "department"], name="m_glline_date_acct"
            ),
            # Initiative cost and campaign cost booked in the ledger: filter by initiative /
            # campaign and period. Partial: most lines carry neither, and an index that skips
            # them costs nothing on bulk ingestion.
            models.Index(
                fields=["initiative", "posting_date"],
                condition=models.Q(initiative__isnull=False),
                name="m_glline_initiative",
            ),
            models.Index(
                fields=["campaign", "posting_date"],
                condition=models.Q(campaign__isnull=False),
                name="m_glline_campaign",
            ),
            pending_index("account", "glline"),
            pending_index("department", "glline"),
            pending_index("campaign", "glline"),
            pending_index("initiative", "glline"),
            pending_index("customer", "glline"),
        ]


class Invoice(SourcedRecord):
    """Revenue invoiced to a customer, with the CRM deal it belongs to."""

    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        OPEN = "open", "Open"
        PAID = "paid", "Paid"
        VOID = "void", "Void"

    number = models.CharField(max_length=100, blank=True)
    customer = ref("records.Customer")
    customer_external_id = ref_external_id()
    deal = ref("records.Deal")
    deal_external_id = ref_external_id()
    issue_date = models.DateField()
    due_date = models.DateField(null=True, blank=True)
    amount = money_field()
    currency = currency_fk()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)

    class Meta:
        db_table = "metrics_invoice"  # kept from before the move to records
        ordering = ["-issue_date", "id"]
        constraints = [
            source_unique("invoice"),
            scale_check("amount", "invoice"),
            non_negative("amount", "invoice"),
            date_order("issue_date", "due_date", "invoice"),
        ]
        indexes = [
            freshness_index("invoice"),
            # Revenue per month and per deal/customer.
            models.Index(fields=["issue_date", "customer"], name="m_invoice_date_customer"),
            models.Index(fields=["deal"], name="m_invoice_deal"),
            pending_index("customer", "invoice"),
            pending_index("deal", "invoice"),
        ]
