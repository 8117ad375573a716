# The sales report's deal reads from indexes alone (PostgreSQL index-only scans): won / lost
# deals by close time, the pipeline by opening time. (Its ledger cost comes from the ledger
# pre-aggregates, so the GL lines carry no index for it.)

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("records", "0006_updated_at_indexes"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="deal",
            index=models.Index(
                condition=models.Q(("deleted_at__isnull", True)),
                fields=["closed_at"],
                include=("status",),
                name="m_deal_closed_live",
            ),
        ),
        migrations.AddIndex(
            model_name="deal",
            index=models.Index(
                condition=models.Q(("deleted_at__isnull", True)),
                fields=["opened_at"],
                include=("stage", "status", "currency", "amount"),
                name="m_deal_opened_live",
            ),
        ),
    ]
