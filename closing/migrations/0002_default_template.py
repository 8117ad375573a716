"""The default close template "Month-end close" (issue #15): sync every source, check
freshness, then reconcile beside the manual review of accruals, recompute once both are
done, deliver the "Month-end pack" (created by reports' own data migration; left empty when
it is missing) to the Finance viewer role, and lock the period.

An existing template named "Month-end close" is left as an admin made it; the reverse
removes the template only when no close was made from it."""

from django.db import migrations

NAME = "Month-end close"
PACK = "Month-end pack"
GROUP = "Finance viewer"  # finhub.core.roles.FINANCE_VIEWER (a migration keeps its own copy)

# key, name, kind, action, due working day, depends on (keys), owner group
TASKS = [
    ("sync", "Sync every source", "automated", "sync_sources", 1, [], None),
    ("freshness", "Check data freshness", "automated", "check_freshness", 1, ["sync"], None),
    ("reconcile", "Reconcile with the sources", "automated", "reconcile", 1, ["freshness"], None),
    ("review", "Review accruals and journal entries", "manual", "", 2, [], GROUP),
    (
        "recompute",
        "Recompute metrics and forecasts",
        "automated",
        "recompute",
        2,
        ["reconcile", "review"],
        None,
    ),
    ("deliver", "Build and deliver the report pack", "automated", "deliver_pack", 3,
     ["recompute"], None),
    ("lock", "Lock the period", "automated", "lock_period", 3, ["deliver"], None),
]


def create(apps, schema_editor):
    CloseTemplate = apps.get_model("closing", "CloseTemplate")
    CloseTemplateTask = apps.get_model("closing", "CloseTemplateTask")
    Group = apps.get_model("auth", "Group")
    ReportPack = apps.get_model("reports", "ReportPack")
    if CloseTemplate.objects.filter(name=NAME).exists():
        return
    # The role groups are synced after migrate (finhub.core.services.roles_sync), which
    # keeps this one and sets its permissions.
    group, _ = Group.objects.get_or_create(name=GROUP)
    template = CloseTemplate.objects.create(
        name=NAME,
        description="The monthly close: data in and checked, reviewed, figures recomputed, "
        "the pack delivered, the period locked.",
        is_default=not CloseTemplate.objects.filter(is_default=True).exists(),
        pack=ReportPack.objects.filter(name=PACK).first(),
    )
    template.recipient_groups.add(group)
    tasks = {}
    for order, (key, name, kind, action, day, depends, owner) in enumerate(TASKS, start=1):
        tasks[key] = CloseTemplateTask.objects.create(
            template=template,
            key=key,
            name=name,
            kind=kind,
            action=action,
            due_working_day=day,
            order=order * 10,
            owner_group=group if owner else None,
        )
        tasks[key].depends_on.add(*[tasks[d] for d in depends])


def remove(apps, schema_editor):
    CloseTemplate = apps.get_model("closing", "CloseTemplate")
    CloseTemplate.objects.filter(name=NAME, closes__isnull=True).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("closing", "0001_initial"),
        # The "Month-end pack" the template delivers.
        ("reports", "0002_month_end_pack"),
    ]

    operations = [migrations.RunPython(create, remove)]
