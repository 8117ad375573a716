# Customer segment and customer-success owner (issue #12: customer-success ROI per segment).

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("records", "0002_ingestbatch_pending"),
    ]

    operations = [
        migrations.AddField(
            model_name="customer",
            name="segment",
            field=models.CharField(blank=True, default="", max_length=50),
        ),
        migrations.AddField(
            model_name="customer",
            name="cs_owner",
            field=models.CharField(
                blank=True, default="", max_length=200, verbose_name="customer-success owner"
            ),
        ),
        migrations.AddIndex(
            model_name="customer",
            index=models.Index(fields=["segment"], name="m_customer_segment"),
        ),
    ]
