"""The phase 4 deliverables FinHub can now verify itself: the month-end close and the
delivered report packs. Rows a project manager already pointed elsewhere stay as they are."""

from django.db import migrations

EVIDENCE_CHECKS = {
    "p4-processes-automated": "close_automated",
    "p4-reporting-suite": "reports_delivered",
}


def forwards(apps, schema_editor):
    ChecklistItem = apps.get_model("roadmap", "ChecklistItem")
    for key, check in EVIDENCE_CHECKS.items():
        ChecklistItem.objects.filter(
            programme__key="finance-integration", key=key, evidence_check=""
        ).update(evidence_check=check)


def backwards(apps, schema_editor):
    ChecklistItem = apps.get_model("roadmap", "ChecklistItem")
    for key, check in EVIDENCE_CHECKS.items():
        ChecklistItem.objects.filter(key=key, evidence_check=check).update(evidence_check="")


class Migration(migrations.Migration):
    dependencies = [("roadmap", "0004_success_metric_points")]

    operations = [migrations.RunPython(forwards, backwards)]
