"""Factories of the alerts app (rules, instances; notification-side factories at the end)."""

import datetime
from decimal import Decimal

import factory
from django.utils import timezone as django_timezone

from alerts.evaluation import instance_labels as evaluation_labels
from tests.factories import UserFactory


class AlertRuleFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "alerts.AlertRule"
        django_get_or_create = ("name",)

    name = factory.Sequence(lambda n: f"Rule {n}")
    metric = "budget_variance_pct"
    scope = "department"
    comparator = "gt"
    threshold = Decimal("5")
    severity = "warning"


def instance_labels(instance) -> dict:
    """The labels evaluation gives an instance."""
    return evaluation_labels(instance.rule, instance)


class AlertInstanceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "alerts.AlertInstance"

    rule = factory.SubFactory(AlertRuleFactory)
    scope_key = factory.Sequence(lambda n: f"D{n}")
    scope_label = factory.LazyAttribute(lambda o: f"Department {o.scope_key}")
    labels = factory.LazyAttribute(instance_labels)
    state = "normal"


# --- Notifications, silences, acknowledgements -----------------------------------------


class NotificationChannelFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "alerts.NotificationChannel"
        django_get_or_create = ("name",)

    name = factory.Sequence(lambda n: f"Channel {n}")
    kind = "email"


class SilenceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "alerts.Silence"

    matchers = factory.LazyFunction(lambda: [{"label": "item", "op": "=", "value": "x"}])
    starts_at = factory.LazyFunction(django_timezone.now)
    ends_at = factory.LazyAttribute(lambda o: o.starts_at + datetime.timedelta(hours=1))
    comment = "Maintenance"
    created_by = factory.SubFactory(UserFactory)


class AcknowledgementFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "alerts.Acknowledgement"

    instance = factory.SubFactory(AlertInstanceFactory, state="firing")
    owner = factory.SubFactory(UserFactory)
    expires_at = factory.LazyFunction(lambda: django_timezone.now() + datetime.timedelta(hours=4))
    fired_at = factory.LazyAttribute(lambda o: o.instance.fired_at)
    created_by = factory.SelfAttribute("owner")
