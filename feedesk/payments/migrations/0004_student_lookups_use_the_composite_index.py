import django.db.models.deletion
from django.db import migrations, models

# The (student, received_at) index leads with the student, so the column's own index only cost
# every payment a write. Dropped by name, without rebuilding the table on SQLite.
INDEX = "payments_payment_student_id_b5fab56a"


class Migration(migrations.Migration):
    dependencies = [
        ("payments", "0003_lookups_use_the_composite_indexes"),
        ("people", "0001_initial"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
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
            database_operations=[
                migrations.RunSQL(
                    f'DROP INDEX IF EXISTS "{INDEX}"',
                    reverse_sql=f'CREATE INDEX "{INDEX}" ON "payments_payment" ("student_id")',
                ),
            ],
        ),
    ]
