"""The demo connectors: one per sandbox system, so the demo's data arrives through syncs.

``demo_connectors_ensure`` creates them (idempotently) from connectors.sandbox.mappings and
``demo_syncs_request`` queues a first sync for each one that never had a run. load_demo calls
both; the worker started by ``make run`` then pulls the synthetic company from the sandbox.
``demo_manual_connector_ensure`` adds the push-only connector the README's push example
writes to, whose references resolve against the demo systems' records.
"""

from dataclasses import dataclass

from django.db import transaction

from connectors import schedules_service
from connectors.credentials import credentials_set
from connectors.models import Connector, SyncRun
from connectors.sync.runs import sync_request

# Systems in dependency order: references resolve against what an earlier sync loaded
# (invoices name accounts, deals name contacts, subscription events name customers …).
DEMO_SYSTEMS = ("erp", "marketing", "crm", "billing", "budget", "product")
# Every 15 minutes: fresh enough for a demo, and a stale source shows after 30 minutes.
DEMO_SCHEDULE_MINUTES = 15
# The README's push example: a token of this connector writes ledger lines naming the demo
# ERP's accounts (ACC-4000) and departments (DEP-CS).
MANUAL_ENTRIES = "Manual entries"


@dataclass(frozen=True)
class DemoConnector:
    system: str
    connector: Connector
    created: bool


@transaction.atomic
def demo_connectors_ensure(*, base_url: str) -> list[DemoConnector]:
    """Create the missing demo connectors, in DEMO_SYSTEMS order, pointing at ``base_url``.

    A new connector gets the sandbox credentials (encrypted), every other demo connector as a
    reference source, and a schedule every DEMO_SCHEDULE_MINUTES. An existing one (same name)
    is left exactly as it is, so a re-run never undoes what an admin changed.
    """
    from connectors.sandbox.mappings import demo_connector_values

    result = []
    for system in DEMO_SYSTEMS:
        values = demo_connector_values(base_url, system)
        credentials = values.pop("credentials")
        connector, created = Connector.objects.get_or_create(name=values["name"], defaults=values)
        if created:
            credentials_set(connector, credentials)
            schedules_service.connector_schedule_set(
                connector=connector,
                kind=schedules_service.INTERVAL,
                every_minutes=DEMO_SCHEDULE_MINUTES,
            )
        result.append(DemoConnector(system=system, connector=connector, created=created))
    demo = [item.connector for item in result]
    for item in result:
        if item.created:
            item.connector.reference_sources.set([c for c in demo if c.pk != item.connector.pk])
    return result


@transaction.atomic
def demo_manual_connector_ensure(*, demo: list[Connector]) -> tuple[Connector, bool]:
    """The push-only "Manual entries" connector (no sync, no schedule): its records' references
    resolve against the ``demo`` connectors, so a pushed ledger line naming ``ACC-4000`` finds
    the ERP's account. An existing one is left as it is."""
    connector, created = Connector.objects.get_or_create(
        name=MANUAL_ENTRIES,
        defaults={"kind": Connector.Kind.ERP, "transport": Connector.Transport.PUSH_ONLY},
    )
    if created:
        connector.reference_sources.set(demo)
    return connector, created


def demo_syncs_request(connectors: list[Connector]) -> list[SyncRun]:
    """Queue a first manual sync, in the given order, for each connector that never had a run
    (queued, running or finished): re-running the demo loader queues nothing twice."""
    started = set(
        SyncRun.objects.filter(connector__in=connectors).values_list("connector_id", flat=True)
    )
    return [
        sync_request(connector, trigger=SyncRun.Trigger.MANUAL)
        for connector in connectors
        if connector.pk not in started
    ]
