"""Marketing: channels, campaigns, daily spend, contacts and their touchpoints."""

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


class Channel(SourcedRecord):
    """A marketing channel (paid search, events, organic…); ``is_paid`` feeds paid CAC."""

    name = models.CharField(max_length=200)
    is_paid = models.BooleanField(default=False)

    class Meta:
        db_table = "metrics_channel"  # kept from before the move to records
        ordering = ["name"]
        constraints = [source_unique("channel")]


class Campaign(SourcedRecord):
    """A campaign run on a channel, with its dates, planned budget and owner."""

    name = models.CharField(max_length=200)
    channel = ref(Channel)
    channel_external_id = ref_external_id()
    start_date = models.DateField(null=True, blank=True)
    end_date = models.DateField(null=True, blank=True)
    planned_budget = money_field(null=True, blank=True)
    currency = currency_fk(null=True, blank=True)
    owner = models.CharField(max_length=200, blank=True)

    class Meta:
        db_table = "metrics_campaign"  # kept from before the move to records
        ordering = ["name"]
        constraints = [
            source_unique("campaign"),
            scale_check("planned_budget", "campaign"),
            non_negative("planned_budget", "campaign"),
            date_order("start_date", "end_date", "campaign"),
        ]
        indexes = [pending_index("channel", "campaign")]


class CampaignSpend(SourcedRecord):
    """What a campaign cost on one day."""

    campaign = ref(Campaign)
    campaign_external_id = ref_external_id()
    date = models.DateField()
    amount = money_field()
    currency = currency_fk()

    class Meta:
        db_table = "metrics_campaignspend"  # kept from before the move to records
        ordering = ["-date", "id"]
        verbose_name_plural = "campaign spend"
        constraints = [
            source_unique("campaignspend"),
            scale_check("amount", "campaignspend"),
            non_negative("amount", "campaignspend"),
        ]
        indexes = [
            freshness_index("campaignspend"),
            # ROI: SUM(amount) per campaign WHERE date in period.
            models.Index(fields=["campaign", "date"], name="m_spend_campaign_date"),
            models.Index(fields=["date"], name="m_spend_date"),
            pending_index("campaign", "campaignspend"),
        ]


class Contact(SourcedRecord):
    """A person or account in the funnel (no raw e-mail address is stored)."""

    class Kind(models.TextChoices):
        PERSON = "person", "Person"
        ACCOUNT = "account", "Account"

    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.PERSON)
    name = models.CharField(max_length=200, blank=True)
    company = models.CharField(max_length=200, blank=True)
    account = ref("records.Contact")
    account_external_id = ref_external_id()
    first_seen_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "metrics_contact"  # kept from before the move to records
        ordering = ["name", "id"]
        constraints = [source_unique("contact")]
        indexes = [
            pending_index("account", "contact"),
            # Deleting a contact sets its people's ``account`` to NULL (UPDATE … WHERE
            # account_id IN …): without this every delete scans the whole contact table.
            models.Index(
                fields=["account"],
                condition=models.Q(account__isnull=False),
                name="m_contact_account",
            ),
        ]


class Touchpoint(SourcedRecord):
    """One interaction of a contact with a campaign / channel."""

    class Type(models.TextChoices):
        IMPRESSION = "impression", "Impression"
        CLICK = "click", "Click"
        FORM = "form", "Form submission"
        EMAIL_OPEN = "email_open", "E-mail open"
        MEETING = "meeting", "Meeting"
        VISIT = "visit", "Visit"
        OTHER = "other", "Other"

    contact = ref(Contact)
    contact_external_id = ref_external_id()
    campaign = ref(Campaign)
    campaign_external_id = ref_external_id()
    channel = ref(Channel)
    channel_external_id = ref_external_id()
    occurred_at = models.DateTimeField()
    type = models.CharField(max_length=20, choices=Type.choices)

    class Meta:
        db_table = "metrics_touchpoint"  # kept from before the move to records
        ordering = ["-occurred_at", "id"]
        constraints = [source_unique("touchpoint")]
        indexes = [
            freshness_index("touchpoint"),
            # Attribution: a contact's touchpoints in the lookback window, in time order.
            models.Index(fields=["contact", "occurred_at"], name="m_touch_contact_time"),
            # Markov paths of non-converting contacts: touchpoints in the analysis window.
            models.Index(fields=["occurred_at"], name="m_touch_time"),
            # Attribution read for the converting contacts only: does a touchpoint of the
            # range have this channel / campaign (or none)? (the report's zero rows)
            models.Index(fields=["channel", "occurred_at"], name="m_touch_channel_time"),
            models.Index(fields=["campaign", "occurred_at"], name="m_touch_campaign_time"),
            pending_index("contact", "touchpoint"),
            pending_index("campaign", "touchpoint"),
            pending_index("channel", "touchpoint"),
        ]
