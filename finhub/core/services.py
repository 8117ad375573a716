"""Writes for the core app: roles, heartbeats, schedules and demo users."""

import json
import logging
from importlib import import_module

from django.apps import AppConfig
from django.apps import apps as django_apps
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from finhub.core.roles import ROLES, RoleSpec
from finhub.core.schedules import ScheduleSpec

logger = logging.getLogger(__name__)


def role_permissions(*, spec: RoleSpec) -> "list[Permission]":
    """The permissions a role grants, resolved against what exists in the database."""
    query = Q(pk__in=[])
    if spec.view_apps:
        query |= Q(content_type__app_label__in=spec.view_apps, codename__startswith="view_")
    if spec.manage_apps:
        # Only the default model permissions: a custom one (roadmap.override_phase_gate)
        # is granted by name in ``extra`` or by an administrator, never by managing an app.
        default = Q()
        for action in ("add_", "change_", "delete_", "view_"):
            default |= Q(codename__startswith=action)
        query |= Q(content_type__app_label__in=spec.manage_apps) & default
    for dotted in spec.extra:
        app_label, codename = dotted.split(".", 1)
        query |= Q(content_type__app_label=app_label, codename=codename)
    return list(Permission.objects.filter(query))


@transaction.atomic
def roles_sync() -> dict[str, int]:
    """Create the role groups if needed and set exactly the permissions each role grants."""
    counts = {}
    for name, spec in ROLES.items():
        group, _ = Group.objects.get_or_create(name=name)
        permissions = role_permissions(spec=spec)
        group.permissions.set(permissions)
        counts[name] = len(permissions)
    return counts


def heartbeat_record(*, source: str, hostname: str = "") -> None:
    """Note that a periodic task from ``source`` ran now (one row per source)."""
    now = timezone.now()
    updated = (
        django_apps.get_model("core", "Heartbeat")
        .objects.filter(source=source)
        .update(last_seen=now, beats=F("beats") + 1, hostname=hostname)
    )
    if not updated:
        django_apps.get_model("core", "Heartbeat").objects.get_or_create(
            source=source, defaults={"last_seen": now, "beats": 1, "hostname": hostname}
        )


def schedule_specs() -> list[ScheduleSpec]:
    """Every app's ``schedules.SCHEDULES``, in app order."""
    specs: list[ScheduleSpec] = []
    for config in django_apps.get_app_configs():
        try:
            module = import_module(f"{config.name}.schedules")
        except ModuleNotFoundError as exc:
            if exc.name != f"{config.name}.schedules":
                raise
            continue
        specs.extend(getattr(module, "SCHEDULES", []))
    return specs


@transaction.atomic
def schedules_sync() -> list[str]:
    """Create the periodic tasks that are missing; returns the names created."""
    from django_celery_beat.models import CrontabSchedule, IntervalSchedule, PeriodicTask

    created = []
    for spec in schedule_specs():
        if PeriodicTask.objects.filter(name=spec.name).exists():
            continue
        task = PeriodicTask(
            name=spec.name, task=spec.task, kwargs=json.dumps(spec.kwargs), description=spec.why
        )
        if spec.every_seconds is not None:
            task.interval, _ = IntervalSchedule.objects.get_or_create(
                every=spec.every_seconds, period=IntervalSchedule.SECONDS
            )
        elif spec.crontab is not None:
            task.crontab, _ = CrontabSchedule.objects.get_or_create(**spec.crontab)
        else:
            raise ValueError(f"schedule {spec.name!r} has neither every_seconds nor crontab")
        task.save()
        created.append(spec.name)
    return created


def after_migrate(*, sender: AppConfig, **kwargs: object) -> None:
    """post_migrate hook: keep roles and schedules in step with the code."""
    # Django sends it only for apps that have a models module.
    with_models = [c for c in django_apps.get_app_configs() if c.models_module is not None]
    if sender.label != with_models[-1].label:
        return
    roles_sync()
    schedules_sync()


DEMO_PASSWORD_DEFAULT = "finhub-demo"  # noqa: S105 - demo logins only; refused in production
DEMO_USERS = [
    # username, role (None: superuser), display name
    ("admin", None, "Demo administrator"),
    ("finance", "Finance viewer", "Fiona Finance"),
    ("pm", "Project manager", "Pat Manager"),
    ("integrations", "Integration admin", "Ivan Integrations"),
]


@transaction.atomic
def demo_users_ensure(*, password: str) -> list[tuple[str, str]]:
    """Create the demo users (one per role, plus a superuser) if they do not exist.

    Existing users keep their password, so re-running never resets what someone changed.
    Returns (username, role label) for each.
    """
    user_model = get_user_model()
    result = []
    for username, role, full_name in DEMO_USERS:
        first, _, last = full_name.partition(" ")
        user, created = user_model.objects.get_or_create(
            username=username,
            defaults={
                "first_name": first,
                "last_name": last,
                "is_staff": True,  # every role works in the admin, read-only or not
                "is_superuser": role is None,
            },
        )
        if created:
            user.set_password(password)
            user.save(update_fields=["password"])
        if not user.email:
            # Report packs and alerts go by e-mail (printed by the demo's console backend).
            user.email = f"{username}@finhub.example"
            user.save(update_fields=["email"])
        if role is not None:
            user.groups.add(Group.objects.get(name=role))
        result.append((username, role or "Superuser"))
    return result
