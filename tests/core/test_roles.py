import pytest
from django.contrib.auth.models import Group
from django.core.management import call_command

from finhub.core import roles
from finhub.core.services import DEMO_USERS, roles_sync


def codenames(group_name: str) -> set[str]:
    group = Group.objects.get(name=group_name)
    return {
        f"{app}.{code}"
        for app, code in group.permissions.values_list("content_type__app_label", "codename")
    }


@pytest.mark.django_db
def test_migrations_create_the_three_role_groups():
    assert set(Group.objects.values_list("name", flat=True)) >= {
        roles.FINANCE_VIEWER,
        roles.PROJECT_MANAGER,
        roles.INTEGRATION_ADMIN,
    }


@pytest.mark.django_db
def test_finance_viewer_reads_and_changes_only_triage_the_close_and_report_downloads():
    perms = codenames(roles.FINANCE_VIEWER)
    assert {
        "core.view_dashboards",
        "alerts.view_alertinstance",
        "alerts.view_alertrule",
        "reports.view_archivedreport",
        "closing.view_close",
    } <= perms
    writes = {code for code in perms if not code.split(".")[1].startswith("view_")}
    assert writes == {
        "metrics.change_spendanomaly",
        "alerts.add_acknowledgement",
        "alerts.change_acknowledgement",
        "alerts.add_silence",
        "alerts.change_alertinstance",
        "closing.add_close",
        "closing.change_closetask",
        "reports.add_archivedreport",
    }
    assert "records.unlock_period" not in perms  # a closed period is reopened by a superuser


@pytest.mark.django_db
def test_project_manager_manages_close_templates_report_packs_and_schedules():
    perms = codenames(roles.PROJECT_MANAGER)
    assert {
        "closing.add_closetemplate",
        "closing.change_closetemplate",
        "reports.add_reportpack",
        "reports.change_packschedule",
    } <= perms


@pytest.mark.django_db
def test_project_manager_views_alerts_and_changes_none():
    perms = codenames(roles.PROJECT_MANAGER)
    assert "alerts.view_alertinstance" in perms
    assert not {code for code in perms if code.startswith("alerts.") and ".view_" not in code}


@pytest.mark.django_db
def test_integration_admin_manages_alert_rules_channels_and_silences():
    perms = codenames(roles.INTEGRATION_ADMIN)
    alert_writes = {code for code in perms if code.startswith("alerts.") and ".view_" not in code}
    assert alert_writes == {
        f"alerts.{action}_{model}"
        for model in ("alertrule", "notificationchannel", "silence")
        for action in ("add", "change", "delete")
    }
    assert "alerts.view_alertinstance" in perms


@pytest.mark.django_db
def test_integration_admin_manages_schedules():
    perms = codenames(roles.INTEGRATION_ADMIN)
    assert "django_celery_beat.change_periodictask" in perms
    assert "django_celery_beat.add_periodictask" in perms


@pytest.mark.django_db
def test_roles_sync_is_idempotent_and_restores_removed_permissions():
    group = Group.objects.get(name=roles.INTEGRATION_ADMIN)
    before = codenames(roles.INTEGRATION_ADMIN)
    assert "django_celery_beat.add_periodictask" in before
    group.permissions.clear()
    assert codenames(roles.INTEGRATION_ADMIN) == set()
    roles_sync()
    roles_sync()
    assert codenames(roles.INTEGRATION_ADMIN) == before
    assert Group.objects.filter(name=roles.INTEGRATION_ADMIN).count() == 1


@pytest.mark.django_db
def test_load_demo_twice_creates_each_demo_user_once(django_user_model, capsys):
    call_command("load_demo")
    call_command("load_demo")
    assert django_user_model.objects.count() == len(DEMO_USERS)
    out = capsys.readouterr().out
    assert "finance" in out and "Finance viewer" in out
    finance = django_user_model.objects.get(username="finance")
    assert finance.check_password("finhub-demo")
    assert list(finance.groups.values_list("name", flat=True)) == [roles.FINANCE_VIEWER]
    assert django_user_model.objects.get(username="admin").is_superuser
    # The close mails its pack to the Finance viewers: the demo logins have addresses.
    assert finance.email == "finance@finhub.example"


@pytest.mark.django_db
def test_load_demo_keeps_a_changed_password(django_user_model):
    call_command("load_demo")
    pm = django_user_model.objects.get(username="pm")
    pm.set_password("changed-by-pat")
    pm.save()
    call_command("load_demo")
    pm.refresh_from_db()
    assert pm.check_password("changed-by-pat")


@pytest.mark.django_db
def test_load_demo_refuses_production(settings):
    from django.core.management.base import CommandError

    settings.IS_PRODUCTION = True
    with pytest.raises(CommandError, match="production"):
        call_command("load_demo")


@pytest.mark.django_db
def test_finance_viewer_cannot_change_in_admin(client, finance_viewer):
    client.force_login(finance_viewer)
    assert client.get("/admin/").status_code == 200
    assert client.get("/admin/auth/user/add/").status_code == 403
    assert client.get("/admin/django_celery_beat/periodictask/add/").status_code == 403


@pytest.mark.django_db
def test_integration_admin_opens_schedule_admin(client, integration_admin):
    client.force_login(integration_admin)
    assert client.get("/admin/django_celery_beat/periodictask/").status_code == 200
    assert client.get("/admin/django_celery_beat/periodictask/add/").status_code == 200


@pytest.mark.django_db
def test_roles_cover_every_app_after_a_fresh_migrate():
    """The test database was just built by migrate: the last app's hook saw every model."""
    perms = codenames(roles.INTEGRATION_ADMIN)
    assert "connectors.add_apitoken" in perms
    viewer = codenames(roles.FINANCE_VIEWER)
    assert {
        "connectors.view_connector",
        "records.view_glline",
        "metrics.view_metricsnapshot",
    } <= viewer
    # The canonical records now live in records: nothing of them is left under metrics.
    assert "metrics.view_glline" not in viewer
