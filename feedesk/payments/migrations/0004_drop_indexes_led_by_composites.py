import django.db.models.deletion
from django.db import migrations, models

from feedesk.core.migration_ops import drop_indexes_led_by_composites


class Migration(migrations.Migration):
    dependencies = [
        ("payments", "0003_lookups_use_the_composite_indexes"),
        ("people", "0004_drop_indexes_led_by_composites"),
    ]

    operations = [
        drop_indexes_led_by_composites(
            state_operations=[
                migrations.AlterField(
                    model_name="payment",
                    name="student",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="payments",
                        to="people.student",
                    ),
                ),
            ],
            indexes=[("payments_payment_student_id_b5fab56a", "payments_payment", "student_id")],
        ),
    ]
