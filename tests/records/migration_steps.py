"""Steps of the records-move migration test, each run in its own process against the
scratch database named by DATABASE_URL: ``python -m tests.records.migration_steps <step>``.

Every step prints one JSON document on its last line of output. A child process is used
because the steps need a database outside pytest-django's test database, and because
``manage.py migrate`` is what an operator runs on an existing installation.
"""

import json
import os
import sys
from datetime import date
from decimal import Decimal

MOVE = ("records", "0001_initial")
BEFORE_MOVE_METRICS = ("metrics", "0007_soft_delete")
# What the Finance viewer sees of the moved models; view_glline is the one checked by name.
MOVED_MODELS = ["account", "department", "glline", "ingestbatch", "rejectedrecord"]


def _setup() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "finhub.settings")
    import django

    django.setup()


def _targets_before_move() -> list[tuple[str, str]]:
    """The newest migration of every app that does not need ``records``, and metrics 0007."""
    from django.db.migrations.loader import MigrationLoader

    graph = MigrationLoader(None, ignore_no_migrations=True).graph
    independent = [
        leaf
        for leaf in sorted(graph.leaf_nodes())
        if MOVE not in graph.forwards_plan(leaf) and leaf[0] != BEFORE_MOVE_METRICS[0]
    ]
    return [*independent, BEFORE_MOVE_METRICS]


def _historical_apps():
    """The models as the applied migrations define them (not as the code does now)."""
    from django.db import connection
    from django.db.migrations.loader import MigrationLoader

    loader = MigrationLoader(connection)
    applied = set(loader.applied_migrations)
    leaves = [
        key
        for key in applied
        if not any(child.key in applied for child in loader.graph.node_map[key].children)
    ]
    return loader.project_state(leaves, at_end=True).apps


def _content_types(content_types) -> list[list]:
    """[model, app_label, id] of every content type named like a moved model."""
    rows = content_types.filter(model__in=MOVED_MODELS).order_by("model", "app_label")
    return [[row.model, row.app_label, row.pk] for row in rows]


def step_before() -> dict:
    """Migrate an empty database to the last state before the records moved out of metrics."""
    from django.core.management import call_command
    from django.db import connection
    from django.db.migrations.executor import MigrationExecutor

    targets = _targets_before_move()
    # All targets in one plan: ``migrate <app>`` one app at a time cannot start from an
    # empty database, as the post_migrate hooks read tables of other apps.
    MigrationExecutor(connection).migrate(targets)
    # Nothing left to apply: this sends post_migrate for the migrated state, which creates
    # the content types, permissions and role permissions as that installation had them.
    call_command("migrate", *BEFORE_MOVE_METRICS, interactive=False, verbosity=0)
    return {"targets": [list(target) for target in targets]}


def step_seed() -> dict:
    """Write a little of everything through the historical ``metrics`` models."""
    apps = _historical_apps()
    connector_model = apps.get_model("connectors", "Connector")
    group_model = apps.get_model("auth", "Group")
    permission_model = apps.get_model("auth", "Permission")
    user_model = apps.get_model("auth", "User")
    batch_model = apps.get_model("metrics", "IngestBatch")

    source = connector_model.objects.create(name="Ledger", slug="ledger", kind="erp")
    batch = batch_model.objects.create(
        source=source, entity="gl_lines", via="api", received=2, created=1, rejected=1
    )
    account = apps.get_model("metrics", "Account").objects.create(
        source=source,
        external_id="6100",
        code="6100",
        name="Advertising",
        type="expense",
        is_sales_marketing=True,
        last_batch=batch,
    )
    department = apps.get_model("metrics", "Department").objects.create(
        source=source, external_id="D-MKT", name="Marketing", code="MKT", last_batch=batch
    )
    line = apps.get_model("metrics", "GLLine").objects.create(
        source=source,
        external_id="JE-1",
        account=account,
        account_external_id="6100",
        department=department,
        department_external_id="D-MKT",
        posting_date=date(2026, 3, 31),
        amount=Decimal("1234.56"),
        currency_id="EUR",
        description="Agency fee",
        last_batch=batch,
    )
    reject = apps.get_model("metrics", "RejectedRecord").objects.create(
        source=source,
        batch=batch,
        entity="gl_lines",
        external_id="JE-2",
        payload={"external_id": "JE-2", "amount": "10.00", "currency": "XXX"},
        errors={"currency": ["unknown currency"]},
    )
    viewer_group = group_model.objects.get(name="Finance viewer")
    fiona = user_model.objects.create(username="fiona")
    fiona.groups.add(viewer_group)
    # Granted directly, so only the moved permission row can give it after the move
    # (the group's permissions are recomputed by every migrate).
    view_glline = permission_model.objects.get(
        content_type__app_label="metrics", codename="view_glline"
    )
    dora = user_model.objects.create(username="dora")
    dora.user_permissions.add(view_glline)
    return {
        "ids": {
            "source": source.pk,
            "batch": batch.pk,
            "account": account.pk,
            "department": department.pk,
            "line": line.pk,
            "reject": reject.pk,
        },
        "view_glline": view_glline.pk,
        "group_view_codenames": sorted(
            f"{p.content_type.app_label}.{p.codename}"
            for p in viewer_group.permissions.filter(codename__in=["view_glline", "view_account"])
        ),
        "content_types": _content_types(apps.get_model("contenttypes", "ContentType").objects),
    }


def step_read_historical() -> dict:
    """Read the seeded rows back through the historical ``metrics`` models."""
    from django.db import connection
    from django.db.migrations.recorder import MigrationRecorder

    apps = _historical_apps()
    line = apps.get_model("metrics", "GLLine").objects.get(external_id="JE-1")
    reject = apps.get_model("metrics", "RejectedRecord").objects.get(external_id="JE-2")
    return {
        "line": [line.pk, str(line.amount), line.currency_id, line.account.code],
        "reject_batch": reject.batch_id,
        "last_applied": {
            app_label: sorted(
                name
                for app, name in MigrationRecorder(connection).applied_migrations()
                if app == app_label
            )[-1:]
            for app_label in ("metrics", "records")
        },
        "content_types": _content_types(apps.get_model("contenttypes", "ContentType").objects),
    }


def step_read_current() -> dict:
    """Read the seeded rows through today's ``records`` models and permissions."""
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Permission
    from django.contrib.contenttypes.models import ContentType

    from records.models import GLLine, RejectedRecord

    line = GLLine.objects.select_related("account", "department", "source", "last_batch").get(
        external_id="JE-1"
    )
    reject = RejectedRecord.objects.get(external_id="JE-2")
    users = get_user_model().objects
    view_glline = Permission.objects.filter(codename="view_glline")
    return {
        "line": {
            "id": line.pk,
            "amount": str(line.amount),
            "currency": line.currency_id,
            "posting_date": line.posting_date.isoformat(),
            "account": [line.account_id, line.account.code, line.account.type],
            "department": [line.department_id, line.department.code],
            "source": line.source.slug,
            "batch": line.last_batch_id,
        },
        "reject": {
            "id": reject.pk,
            "batch": reject.batch_id,
            "status": reject.status,
            "errors": reject.errors,
            "batch_rejected": reject.batch.rejected,
        },
        "content_types": _content_types(ContentType.objects),
        "glline_content_type": [
            ContentType.objects.get_for_model(GLLine).app_label,
            ContentType.objects.get_for_model(GLLine).pk,
        ],
        "view_glline": [[p.pk, p.content_type.app_label] for p in view_glline],
        "fiona_can_view": users.get(username="fiona").has_perm("records.view_glline"),
        "dora_can_view": users.get(username="dora").has_perm("records.view_glline"),
    }


STEPS = {
    "before": step_before,
    "seed": step_seed,
    "read_historical": step_read_historical,
    "read_current": step_read_current,
}


if __name__ == "__main__":
    _setup()
    print(json.dumps(STEPS[sys.argv[1]]()))
