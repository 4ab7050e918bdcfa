"""Idempotency keys are written with their response in the request's own transaction.

Claims of the old scheme that never completed are dropped: their work did not commit with them.
"""

from django.db import migrations, models


def drop_unfinished_claims(apps, schema_editor):
    apps.get_model("api", "IdempotencyKey").objects.exclude(state="done").delete()


class Migration(migrations.Migration):
    dependencies = [("api", "0001_initial")]

    operations = [
        migrations.RunPython(drop_unfinished_claims, migrations.RunPython.noop),
        migrations.RemoveField(model_name="idempotencykey", name="state"),
        migrations.RemoveField(model_name="idempotencykey", name="claim_token"),
        migrations.RemoveField(model_name="idempotencykey", name="lease_until"),
        migrations.RemoveField(model_name="idempotencykey", name="completed_at"),
        migrations.AlterField(
            model_name="idempotencykey", name="response_status", field=models.PositiveSmallIntegerField()
        ),
        migrations.AlterField(model_name="idempotencykey", name="response_body", field=models.BinaryField()),
        migrations.AlterField(
            model_name="idempotencykey", name="response_content_type", field=models.CharField(max_length=100)
        ),
    ]
