from django.db import migrations, models


class Migration(migrations.Migration):
    """Ingest batches count the rows written with a reference still pending (issue #18)."""

    dependencies = [
        ("records", "0001_initial"),
    ]

    operations = [
        migrations.AddField(
            model_name="ingestbatch",
            name="pending",
            field=models.PositiveIntegerField(default=0),
        ),
    ]
