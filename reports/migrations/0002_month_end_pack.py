"""The default report pack: every report, in the order the definitions list them.

The keys are written out here (a migration never imports app code, which changes later);
they are the keys of reports.definitions.REPORTS when this migration was written.
"""

from django.db import migrations

NAME = "Month-end pack"
SLUG = "month-end-pack"
REPORT_KEYS = (
    "pnl_department",
    "budget_vs_actual",
    "forecast_outturn",
    "campaign_roi",
    "cac_ltv",
    "retention_cs_roi",
    "product_roi",
    "sales_performance",
    "roadmap_status",
    "post_close_adjustments",
)


def create_pack(apps, schema_editor):
    ReportPack = apps.get_model("reports", "ReportPack")
    PackItem = apps.get_model("reports", "PackItem")
    pack, created = ReportPack.objects.get_or_create(
        name=NAME,
        defaults={
            "slug": SLUG,
            "description": "Every FinHub report for the closed month: the pack the month-end "
            "close delivers.",
        },
    )
    if created:
        PackItem.objects.bulk_create(
            PackItem(pack=pack, order=index, report=key, params={})
            for index, key in enumerate(REPORT_KEYS, start=1)
        )


def remove_pack(apps, schema_editor):
    ReportPack = apps.get_model("reports", "ReportPack")
    ReportPack.objects.filter(name=NAME, schedules__isnull=True).delete()


class Migration(migrations.Migration):
    dependencies = [("reports", "0001_initial")]

    operations = [migrations.RunPython(create_pack, remove_pack)]
