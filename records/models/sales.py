"""Sales: teams, reps, quotas and deals (opportunities)."""

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
from .finance import currency_fk


class SalesTeam(SourcedRecord):
    """A sales team."""

    name = models.CharField(max_length=200)

    class Meta:
        db_table = "metrics_salesteam"  # kept from before the move to records
        ordering = ["name"]
        constraints = [source_unique("salesteam")]


class SalesRep(SourcedRecord):
    """A sales representative, member of a team."""

    name = models.CharField(max_length=200)
    team = ref(SalesTeam)
    team_external_id = ref_external_id()
    active = models.BooleanField(default=True)

    class Meta:
        db_table = "metrics_salesrep"  # kept from before the move to records
        ordering = ["name"]
        constraints = [source_unique("salesrep")]
        indexes = [pending_index("team", "salesrep")]


class Quota(SourcedRecord):
    """A rep's quota for a period."""

    rep = ref(SalesRep)
    rep_external_id = ref_external_id()
    period_start = models.DateField()
    period_end = models.DateField()
    amount = money_field()
    currency = currency_fk()

    class Meta:
        db_table = "metrics_quota"  # kept from before the move to records
        ordering = ["-period_start", "id"]
        constraints = [
            source_unique("quota"),
            scale_check("amount", "quota"),
            non_negative("amount", "quota"),
            date_order("period_start", "period_end", "quota"),
        ]
        indexes = [
            # Quota attainment: quotas of a rep overlapping a period.
            models.Index(fields=["rep", "period_start"], name="m_quota_rep_period"),
            pending_index("rep", "quota"),
        ]


class Deal(SourcedRecord):
    """An opportunity: its contact/account, amount, stage, dates, outcome, rep, source campaign."""

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        WON = "won", "Won"
        LOST = "lost", "Lost"

    name = models.CharField(max_length=200, blank=True)
    contact = ref("records.Contact")
    contact_external_id = ref_external_id()
    customer = ref("records.Customer")
    customer_external_id = ref_external_id()
    amount = money_field()
    currency = currency_fk()
    stage = models.CharField(max_length=100, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)
    opened_at = models.DateTimeField()
    closed_at = models.DateTimeField(null=True, blank=True)
    rep = ref(SalesRep)
    rep_external_id = ref_external_id()
    campaign = ref("records.Campaign")
    campaign_external_id = ref_external_id()

    class Meta:
        db_table = "metrics_deal"  # kept from before the move to records
        ordering = ["-opened_at", "id"]
        constraints = [
            source_unique("deal"),
            scale_check("amount", "deal"),
            non_negative("amount", "deal"),
            date_order("opened_at", "closed_at", "deal"),
            models.CheckConstraint(
                condition=models.Q(status="open") | models.Q(closed_at__isnull=False),
                name="metrics_deal_closed_has_date",
            ),
        ]
        indexes = [
            freshness_index("deal"),
            # Conversions (won deals) by close time; win rate by status and close time.
            models.Index(fields=["status", "closed_at"], name="m_deal_status_closed"),
            # The sales report's win rate (won and lost deals closed in a period) and pipeline
            # (deals opened in a period, per stage, status, currency and day), read from the
            # index alone.
            models.Index(
                fields=["closed_at"],
                include=["status"],
                condition=models.Q(deleted_at__isnull=True),
                name="m_deal_closed_live",
            ),
            models.Index(
                fields=["opened_at"],
                include=["stage", "status", "currency", "amount"],
                condition=models.Q(deleted_at__isnull=True),
                name="m_deal_opened_live",
            ),
            # Sales per rep / per source campaign.
            models.Index(fields=["rep", "closed_at"], name="m_deal_rep_closed"),
            models.Index(fields=["campaign"], name="m_deal_campaign"),
            # Attribution: a converting contact's deals (then its touchpoints).
            models.Index(fields=["contact", "closed_at"], name="m_deal_contact_closed"),
            pending_index("contact", "deal"),
            pending_index("customer", "deal"),
            pending_index("rep", "deal"),
            pending_index("campaign", "deal"),
        ]
