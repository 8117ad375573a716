"""Create FinHub's role groups. Their permissions are set after every migrate
(finhub.core.services.roles_sync), once all apps' permissions exist."""

from django.db import migrations

ROLE_NAMES = ["Finance viewer", "Project manager", "Integration admin"]


def create_groups(apps, schema_editor):
    group_model = apps.get_model("auth", "Group")
    for name in ROLE_NAMES:
        group_model.objects.get_or_create(name=name)


class Migration(migrations.Migration):
    dependencies = [
        ("core", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
    ]

    operations = [migrations.RunPython(create_groups, migrations.RunPython.noop)]
