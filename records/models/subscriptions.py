"""Customers and the subscription events that change their MRR."""

from django.db import models

from .base import (
    SourcedRecord,
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


class Customer(SourcedRecord):
    """A paying customer: when and through which channel it was acquired."""

    name = models.CharField(max_length=200)
    acquired_on = models.DateField(null=True, blank=True)
    acquisition_channel = ref("records.Channel")
    acquisition_channel_external_id = ref_external_id()
    contact = ref("records.Contact")
    contact_external_id = ref_external_id()
    # As the source names them (e.g. "SMB", "Mid-market", "Enterprise"); "" = none given.
    segment = models.CharField(max_length=50, blank=True, default="")
    cs_owner = models.CharField("customer-success owner", max_length=200, blank=True, default="")

    class Meta:
        db_table = "metrics_customer"  # kept from before the move to records
        ordering = ["name"]
        constraints = [source_unique("customer")]
        indexes = [
            freshness_index("customer"),
            # CAC per channel: new customers by acquisition channel and month.
            models.Index(fields=["acquisition_channel", "acquired_on"], name="m_customer_acq"),
            # Retention and customer-success ROI per segment group customers by it.
            models.Index(fields=["segment"], name="m_customer_segment"),
            pending_index("acquisition_channel", "customer"),
            pending_index("contact", "customer"),
        ]


class SubscriptionEvent(SourcedRecord):
    """A change of a customer's MRR, with the MRR after it (docs/metrics.md, "Subscriptions
    and MRR")."""

    class Type(models.TextChoices):
        NEW = "new", "New"
        EXPANSION = "expansion", "Expansion"
        CONTRACTION = "contraction", "Contraction"
        CHURN = "churn", "Churn"
        REACTIVATION = "reactivation", "Reactivation"

    customer = ref(Customer)
    customer_external_id = ref_external_id()
    occurred_on = models.DateField()
    type = models.CharField(max_length=20, choices=Type.choices)
    mrr_after = money_field()
    currency = currency_fk()

    class Meta:
        db_table = "metrics_subscriptionevent"  # kept from before the move to records
        ordering = ["-occurred_on", "id"]
        constraints = [
            source_unique("subscriptionevent"),
            scale_check("mrr_after", "subscriptionevent"),
            non_negative("mrr_after", "subscriptionevent"),
            models.CheckConstraint(
                condition=~models.Q(type="churn") | models.Q(mrr_after=0),
                name="metrics_subevent_churn_zero",
            ),
        ]
        indexes = [
            freshness_index("subscriptionevent"),
            # Month-end MRR: each customer's last event on or before a day.
            models.Index(fields=["customer", "occurred_on"], name="m_subevent_customer_day"),
            models.Index(fields=["occurred_on"], name="m_subevent_day"),
            pending_index("customer", "subscriptionevent"),
        ]
