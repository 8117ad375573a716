"""What the scenarios start from: the six sandbox connectors (as the demo creates them, with
small pages so a sync spans many transactions), a push-only connector with an API token,
a webhook connector with a signing secret, and a first full sync reconciled to the cent."""

from __future__ import annotations

from django.conf import settings

from connectors.demo import demo_connectors_ensure, demo_syncs_request
from connectors.models import Connector
from connectors.services import api_token_create, connector_webhook_secret_rotate
from records.ingestion.services import Actor, ingest_records

from .scenarios import Outcome, ScenarioFailure, Stack, runs_line, runs_settle, sources_equal

# Pages of 100 rows: a sync of one resource is many page transactions, so a fault lands
# between two committed pages.
PAGE_SIZE = 100


def worker_queues() -> list[str]:
    """Every queue a task can go to: the declared queues, else the routed ones and the
    default, so one worker does all the work as under `make run`."""
    queues = {getattr(settings, "CELERY_TASK_DEFAULT_QUEUE", "celery") or "celery"}
    declared = getattr(settings, "CELERY_TASK_QUEUES", None) or ()
    queues.update(str(getattr(queue, "name", queue)) for queue in declared)
    routes = getattr(settings, "CELERY_TASK_ROUTES", None) or {}
    if isinstance(routes, dict):
        for route in routes.values():
            if isinstance(route, dict) and route.get("queue"):
                queues.add(route["queue"])
    return sorted(queues)


def stack_build(**parts) -> Stack:
    stack = Stack(**parts)
    demo = [item.connector for item in demo_connectors_ensure(base_url=stack.sandbox.url)]
    for connector in demo:
        connector.sync_config = {**connector.sync_config, "page_size": PAGE_SIZE}
        connector.save(update_fields=["sync_config"])
    stack.connectors = demo

    pushes, _ = Connector.objects.get_or_create(
        name="Fault pushes",
        defaults={"kind": Connector.Kind.ERP, "transport": Connector.Transport.PUSH_ONLY},
    )
    _, stack.push_token = api_token_create(
        connector=pushes, name="fault suite", allowed_entities=["gl_lines", "accounts"]
    )
    ingest_records(
        source=pushes,
        entity="accounts",
        records=[
            {
                "external_id": f"FA{i}",
                "code": f"FA{i}",
                "name": f"Fault account {i}",
                "type": "expense",
            }
            for i in range(10)
        ],
        actor=Actor(via="api", request_id="fault-suite"),
    )
    stack.push_connector = pushes

    hooks, _ = Connector.objects.get_or_create(
        name="Fault webhooks",
        defaults={"kind": Connector.Kind.ERP, "transport": Connector.Transport.PUSH_ONLY},
    )
    hooks.reference_sources.set([pushes])  # its lines name the push connector's accounts
    stack.webhook_secret = connector_webhook_secret_rotate(connector=hooks)
    stack.webhook_connector = hooks
    return stack


def baseline(stack: Stack, out: Outcome) -> None:
    runs = demo_syncs_request(stack.connectors)
    settled = runs_settle(timeout=900, since_pk=min(r.pk for r in runs) - 1)
    out.say(runs_line(settled))
    failed = [r for r in settled if r.status != "succeeded"]
    if failed:
        raise ScenarioFailure(f"first syncs failed: {[(r.pk, r.message[:100]) for r in failed]}")
    sources_equal(stack, out)
