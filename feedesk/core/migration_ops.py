"""Migration operations FeeDesk's apps share."""

from django.db import migrations
from django.db.migrations.operations.base import Operation


def drop_indexes_led_by_composites(
    *, state_operations: list[Operation], indexes: list[tuple[str, str, str]]
) -> migrations.SeparateDatabaseAndState:
    """Fields whose own index a composite index already leads: `state_operations` record their
    `db_index=False`, and each `(index, table, column)` is dropped by name (reversibly).

    AlterField would rebuild the whole table on SQLite, losing any triggers it has, and on
    PostgreSQL drop and re-check the foreign key; dropping the index does neither.
    """
    return migrations.SeparateDatabaseAndState(
        state_operations=state_operations,
        database_operations=[
            migrations.RunSQL(
                f'DROP INDEX IF EXISTS "{index}"',
                reverse_sql=f'CREATE INDEX "{index}" ON "{table}" ("{column}")',
            )
            for index, table, column in indexes
        ],
    )
