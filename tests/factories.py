"""factory_boy factories shared by every test module."""

import datetime
from decimal import Decimal

import factory
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.utils import timezone as django_timezone

from finhub.core import roles


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.test")
    is_staff = True
    password = factory.django.Password("pw-for-tests")

    @factory.post_generation
    def roles(self, create, extracted, **kwargs):
        if create and extracted:
            self.groups.add(*Group.objects.filter(name__in=extracted))


def user_with_role(role: str, **kwargs):
    return UserFactory(roles=[role], **kwargs)


ROLE_NAMES = (roles.FINANCE_VIEWER, roles.PROJECT_MANAGER, roles.INTEGRATION_ADMIN)


class ConnectorFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "connectors.Connector"
        django_get_or_create = ("name",)

    name = factory.Sequence(lambda n: f"Source {n}")
    kind = "erp"
    transport = "push_only"


class PullConnectorFactory(ConnectorFactory):
    """A REST pull connector (the kind that syncs on a schedule)."""

    transport = "rest_pull"
    base_url = factory.Sequence(lambda n: f"http://127.0.0.1:8765/source{n}/v1")
    auth_type = "bearer"


class SyncRunFactory(factory.django.DjangoModelFactory):
    """A finished, successful run by default; pass status/started_at/… to change it."""

    class Meta:
        model = "connectors.SyncRun"

    connector = factory.SubFactory(PullConnectorFactory)
    trigger = "schedule"
    status = "succeeded"
    created_at = factory.LazyFunction(django_timezone.now)
    started_at = factory.SelfAttribute("created_at")
    finished_at = factory.LazyAttribute(lambda r: r.created_at + datetime.timedelta(seconds=30))
    pages = 1
    requests = 1


class SyncStateFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "connectors.SyncState"

    connector = factory.SubFactory(PullConnectorFactory)
    entity = "gl_lines"
    cursor = factory.LazyFunction(lambda: {"updated_since": "2026-01-01T00:00:00+00:00"})


class ReconciliationResultFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "connectors.ReconciliationResult"

    run = factory.SubFactory(SyncRunFactory)
    entity = "gl_lines"
    month = datetime.date(2026, 1, 1)
    source_count = 10
    finhub_count = 10
    source_amount = Decimal("1000.00")
    finhub_amount = Decimal("1000.00")
    matched = True


# --- roadmap ---------------------------------------------------------------------------


class ProgrammeFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "roadmap.Programme"
        django_get_or_create = ("key",)

    key = factory.Sequence(lambda n: f"programme-{n}")
    name = factory.LazyAttribute(lambda p: f"Programme {p.key}")
    start_date = factory.LazyFunction(lambda: datetime.date.today() - datetime.timedelta(weeks=6))


class PhaseFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "roadmap.Phase"

    programme = factory.SubFactory(ProgrammeFactory)
    number = factory.Sequence(lambda n: n + 1)
    name = factory.LazyAttribute(lambda p: f"Phase {p.number}")
    start_week = factory.LazyAttribute(lambda p: (p.number - 1) * 4 + 1)
    end_week = factory.LazyAttribute(lambda p: p.number * 4)


class ChecklistItemFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "roadmap.ChecklistItem"

    phase = factory.SubFactory(PhaseFactory)
    programme = factory.SelfAttribute("phase.programme")
    kind = "deliverable"
    key = factory.Sequence(lambda n: f"item-{n}")
    title = factory.Sequence(lambda n: f"Deliverable {n}")


class RiskFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "roadmap.Risk"

    programme = factory.SubFactory(ProgrammeFactory)
    key = factory.Sequence(lambda n: f"risk-{n}")
    title = factory.Sequence(lambda n: f"Risk {n}")
    category = "technical"
    likelihood = 3
    impact = 3


class SuccessMetricFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "roadmap.SuccessMetric"
        django_get_or_create = ("key",)

    programme = factory.SubFactory(ProgrammeFactory)
    key = factory.Sequence(lambda n: f"metric_{n}")
    group = "integration"
    name = factory.LazyAttribute(lambda m: m.key.replace("_", " ").capitalize())
    target_value = Decimal("95")
    unit = "percent"
    direction = "at_least"


class MeasurementFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "roadmap.Measurement"

    metric = factory.SubFactory(SuccessMetricFactory)
    value = Decimal("90")


# --- records: canonical financial data (externally sourced records) ---------------------


class SourcedFactory(factory.django.DjangoModelFactory):
    class Meta:
        abstract = True

    source = factory.SubFactory(ConnectorFactory)
    external_id = factory.Sequence(lambda n: f"ext-{n}")


class DepartmentFactory(SourcedFactory):
    class Meta:
        model = "records.Department"

    name = factory.Sequence(lambda n: f"Department {n}")


class AccountFactory(SourcedFactory):
    class Meta:
        model = "records.Account"

    code = factory.Sequence(lambda n: f"{6000 + n}")
    name = factory.Sequence(lambda n: f"Account {n}")
    type = "expense"


class GLLineFactory(SourcedFactory):
    class Meta:
        model = "records.GLLine"

    account = factory.SubFactory(AccountFactory, source=factory.SelfAttribute("..source"))
    account_external_id = factory.SelfAttribute("account.external_id")
    posting_date = datetime.date(2026, 1, 15)
    amount = Decimal("100.00")
    currency_id = "USD"
    initiative = None  # GLLineFactory(initiative=InitiativeFactory(...)) tags the line
    initiative_external_id = factory.LazyAttribute(
        lambda o: o.initiative.external_id if o.initiative else ""
    )


class ChannelFactory(SourcedFactory):
    class Meta:
        model = "records.Channel"

    name = factory.Sequence(lambda n: f"Channel {n}")


class CampaignFactory(SourcedFactory):
    class Meta:
        model = "records.Campaign"

    name = factory.Sequence(lambda n: f"Campaign {n}")
    channel = factory.SubFactory(ChannelFactory, source=factory.SelfAttribute("..source"))
    channel_external_id = factory.SelfAttribute("channel.external_id")


class ContactFactory(SourcedFactory):
    class Meta:
        model = "records.Contact"

    name = factory.Sequence(lambda n: f"Contact {n}")


class CustomerFactory(SourcedFactory):
    class Meta:
        model = "records.Customer"

    name = factory.Sequence(lambda n: f"Customer {n}")
    segment = "SMB"
    cs_owner = "Noor Haddad"


class InitiativeFactory(SourcedFactory):
    class Meta:
        model = "records.Initiative"

    name = factory.Sequence(lambda n: f"Initiative {n}")


class RejectedRecordFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "records.RejectedRecord"

    source = factory.SubFactory(ConnectorFactory)
    entity = "channels"
    external_id = factory.Sequence(lambda n: f"rej-{n}")
    payload = factory.LazyAttribute(lambda r: {"external_id": r.external_id})
    errors = factory.LazyFunction(lambda: {"name": ["This field is required."]})


# --- records the metrics engine reads (tests/metrics/wiring) ------------------------------


class FxRateFactory(SourcedFactory):
    class Meta:
        model = "records.FxRate"

    currency_id = "EUR"
    quote_currency_id = "USD"
    date = datetime.date(2026, 1, 15)
    rate = Decimal("1.1000000000")


class TouchpointFactory(SourcedFactory):
    class Meta:
        model = "records.Touchpoint"

    contact = factory.SubFactory(ContactFactory, source=factory.SelfAttribute("..source"))
    occurred_at = factory.LazyFunction(lambda: datetime.datetime(2026, 1, 10, tzinfo=datetime.UTC))
    type = "click"


class DealFactory(SourcedFactory):
    class Meta:
        model = "records.Deal"

    contact = factory.SubFactory(ContactFactory, source=factory.SelfAttribute("..source"))
    amount = Decimal("100.00")
    currency_id = "USD"
    status = "won"
    opened_at = factory.LazyFunction(lambda: datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC))
    closed_at = factory.LazyFunction(lambda: datetime.datetime(2026, 1, 20, tzinfo=datetime.UTC))


class InvoiceFactory(SourcedFactory):
    class Meta:
        model = "records.Invoice"

    issue_date = datetime.date(2026, 1, 25)
    amount = Decimal("100.00")
    currency_id = "USD"
    status = "paid"


class CampaignSpendFactory(SourcedFactory):
    class Meta:
        model = "records.CampaignSpend"

    campaign = factory.SubFactory(CampaignFactory, source=factory.SelfAttribute("..source"))
    date = datetime.date(2026, 1, 5)
    amount = Decimal("100.00")
    currency_id = "USD"


class BudgetFactory(SourcedFactory):
    class Meta:
        model = "records.Budget"

    name = "Budget"
    fiscal_year = 2026
    version = 0
    is_current = True


class BudgetLineFactory(SourcedFactory):
    class Meta:
        model = "records.BudgetLine"

    budget = factory.SubFactory(BudgetFactory, source=factory.SelfAttribute("..source"))
    account = factory.SubFactory(AccountFactory, source=factory.SelfAttribute("..source"))
    month = datetime.date(2026, 1, 1)
    amount = Decimal("100.00")
    currency_id = "USD"


class SubscriptionEventFactory(SourcedFactory):
    class Meta:
        model = "records.SubscriptionEvent"

    customer = factory.SubFactory(CustomerFactory, source=factory.SelfAttribute("..source"))
    occurred_on = datetime.date(2026, 1, 5)
    type = "new"
    mrr_after = Decimal("100.00")
    currency_id = "USD"


class SalesTeamFactory(SourcedFactory):
    class Meta:
        model = "records.SalesTeam"

    name = factory.Sequence(lambda n: f"Team {n}")


class SalesRepFactory(SourcedFactory):
    class Meta:
        model = "records.SalesRep"

    name = factory.Sequence(lambda n: f"Rep {n}")


class QuotaFactory(SourcedFactory):
    class Meta:
        model = "records.Quota"

    rep = factory.SubFactory(SalesRepFactory, source=factory.SelfAttribute("..source"))
    period_start = datetime.date(2026, 1, 1)
    period_end = datetime.date(2026, 3, 31)
    amount = Decimal("1000.00")
    currency_id = "USD"


class InitiativeCostFactory(SourcedFactory):
    class Meta:
        model = "records.InitiativeCost"

    initiative = factory.SubFactory(InitiativeFactory, source=factory.SelfAttribute("..source"))
    initiative_external_id = factory.SelfAttribute("initiative.external_id")
    date = datetime.date(2026, 1, 15)
    kind = "other"
    amount = Decimal("100.00")
    currency_id = "USD"


class InitiativeBenefitFactory(SourcedFactory):
    class Meta:
        model = "records.InitiativeBenefit"

    initiative = factory.SubFactory(InitiativeFactory, source=factory.SelfAttribute("..source"))
    initiative_external_id = factory.SelfAttribute("initiative.external_id")
    date = datetime.date(2026, 1, 31)
    kind = "revenue"
    amount = Decimal("100.00")
    currency_id = "USD"
