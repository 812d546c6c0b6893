"""Duplicate checks: each case's text signature stored at intake, and the location index
extended by the received time so the window is tested on the index entry before a row is
read. Existing cases get their signature from `manage.py backfill_text_signatures` (until
then a check cuts their text itself)."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("cases", "0005_notification_next_attempt_at"),
    ]

    operations = [
        migrations.AddField(
            model_name="case",
            name="text_signature",
            field=models.BinaryField(blank=True, null=True),
        ),
        migrations.AddIndex(
            model_name="case",
            index=models.Index(fields=["lat", "lon", "received_at"], name="case_lat_lon_received"),
        ),
        migrations.RemoveIndex(
            model_name="case",
            name="case_lat_lon",
        ),
    ]
