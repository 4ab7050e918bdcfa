import django.db.models.deletion
from django.db import migrations, models

from feedesk.core.migration_ops import drop_indexes_led_by_composites


class Migration(migrations.Migration):
    dependencies = [
        ("ledger", "0004_guards"),
        ("organizations", "0002_drop_indexes_led_by_composites"),
    ]

    operations = [
        drop_indexes_led_by_composites(
            state_operations=[
                migrations.AlterField(
                    model_name="account",
                    name="organization",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.PROTECT,
                        to="organizations.organization",
                    ),
                ),
                migrations.AlterField(
                    model_name="journalentry",
                    name="organization",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.PROTECT,
                        to="organizations.organization",
                    ),
                ),
                migrations.AlterField(
                    model_name="posting",
                    name="account",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="postings",
                        to="ledger.account",
                    ),
                ),
            ],
            indexes=[
                ("ledger_account_organization_id_00cbe0c2", "ledger_account", "organization_id"),
                ("ledger_journalentry_organization_id_a5dd9e2e", "ledger_journalentry", "organization_id"),
                ("ledger_posting_account_id_964f801d", "ledger_posting", "account_id"),
            ],
        ),
    ]
