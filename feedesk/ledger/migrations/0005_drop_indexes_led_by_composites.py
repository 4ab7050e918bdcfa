import django.db.models.deletion
from django.db import migrations, models

# Both columns lead composite indexes (entry_seq_unique and entry_idempotency_unique; the
# (account, entry) index), so their own indexes only cost every insert a write. Dropped by name:
# on SQLite, AlterField would rebuild the table and lose its append-only triggers.
DROPPED = [
    ("ledger_journalentry_organization_id_a5dd9e2e", "ledger_journalentry", "organization_id"),
    ("ledger_posting_account_id_964f801d", "ledger_posting", "account_id"),
]


class Migration(migrations.Migration):
    dependencies = [
        ("ledger", "0004_guards"),
        ("organizations", "0001_initial"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
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
            database_operations=[
                migrations.RunSQL(
                    f'DROP INDEX IF EXISTS "{name}"', reverse_sql=f'CREATE INDEX "{name}" ON "{table}" ("{column}")'
                )
                for name, table, column in DROPPED
            ],
        ),
    ]
