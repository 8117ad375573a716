"""load_demo's connectors: one per sandbox system, encrypted credentials, a 15-minute schedule,
a first sync queued once; and those syncs bring the demo data in from the sandbox."""

import io
import json

import pytest
from django.core.management import call_command
from django.test import override_settings
from django_celery_beat.models import PeriodicTask

from connectors.credentials import credentials_get
from connectors.demo import (
    DEMO_SYSTEMS,
    MANUAL_ENTRIES,
    demo_connectors_ensure,
    demo_syncs_request,
)
from connectors.models import Connector, SyncRun
from connectors.sandbox.mappings import SANDBOX_CREDENTIALS

pytestmark = pytest.mark.django_db
SANDBOX_URL = "http://127.0.0.1:8765"
NAMES = [
    "Sandbox ERP",
    "Sandbox Marketing Automation",
    "Sandbox CRM",
    "Sandbox Billing",
    "Sandbox Budget Planning",
    "Sandbox Product Tracking",
]


@override_settings(FINHUB_SANDBOX_URL=SANDBOX_URL)
def test_load_demo_creates_the_connectors_once_and_queues_first_syncs_once(
    django_capture_on_commit_callbacks,
):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        out = io.StringIO()
        call_command("load_demo", stdout=out)
    assert "Demo connectors reading the sandbox at http://127.0.0.1:8765" in out.getvalue()
    # one enqueue per run, once the transaction commits, and the demo close's first task
    assert len(callbacks) == 7

    connectors = {c.name: c for c in Connector.objects.all()}
    assert sorted(connectors) == sorted([*NAMES, MANUAL_ENTRIES])
    manual = connectors.pop(MANUAL_ENTRIES)  # push only: no sync, no schedule
    assert (manual.transport, manual.periodic_task) == ("push_only", None)
    assert sorted(c.name for c in manual.reference_sources.all()) == sorted(NAMES)
    erp = connectors["Sandbox ERP"]
    assert erp.base_url == "http://127.0.0.1:8765/erp/v1"
    assert erp.token_url == "http://127.0.0.1:8765/erp/oauth/token"
    assert erp.auth_type == "oauth2_client_credentials"
    for system, name in zip(DEMO_SYSTEMS, NAMES, strict=True):
        connector = connectors[name]
        assert credentials_get(connector) == SANDBOX_CREDENTIALS[system]
        for secret in SANDBOX_CREDENTIALS[system].values():
            assert secret not in connector.credentials_encrypted
        assert sorted(c.name for c in connector.reference_sources.all()) == sorted(
            n for n in NAMES if n != name
        )
        task = connector.periodic_task
        assert (task.interval.every, task.interval.period) == (15, "minutes")
        assert json.loads(task.kwargs) == {"connector_id": connector.pk}
        assert task.task == "connectors.tasks.sync_schedule_fire"
        assert connector.sync_config["entities"]

    runs = list(SyncRun.objects.order_by("created_at", "id"))
    assert [r.connector.name for r in runs] == NAMES  # dependency order
    assert {(r.trigger, r.mode, r.status) for r in runs} == {("manual", "incremental", "queued")}

    # Again: nothing new, nothing queued twice, admin changes kept.
    erp.periodic_task.delete()
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        out = io.StringIO()
        call_command("load_demo", stdout=out)
    assert callbacks == []
    assert Connector.objects.count() == 7
    assert SyncRun.objects.count() == 6
    assert "already synced or queued" in out.getvalue()
    erp.refresh_from_db()
    assert erp.periodic_task is None
    assert PeriodicTask.objects.filter(name__startswith="connector sync: ").count() == 5


def test_the_demo_data_arrives_through_the_syncs(sandbox, django_capture_on_commit_callbacks):
    """What the worker does after `make run`: execute the queued runs, in order."""
    from connectors.sync.engine import sync_run_execute
    from records.models import Account, Deal, GLLine

    demo = demo_connectors_ensure(base_url=sandbox.url)
    with django_capture_on_commit_callbacks(execute=False):
        runs = demo_syncs_request([d.connector for d in demo])
    for run in runs:
        sync_run_execute(run.pk)
    finished = {
        r.connector.name: (r.status, r.reconciliation_matched_pct, r.message)
        for r in SyncRun.objects.select_related("connector")
    }
    assert {name: status for name, (status, _, _) in finished.items()} == dict.fromkeys(
        NAMES, "succeeded"
    ), finished
    assert all(pct == 100 for _, pct, _ in finished.values()), finished
    assert Account.objects.count() == len(sandbox.live_rows("erp", "accounts"))
    assert GLLine.objects.count() == len(sandbox.live_rows("erp", "gl-lines"))
    assert Deal.objects.count() == len(sandbox.live_rows("crm", "deals"))
