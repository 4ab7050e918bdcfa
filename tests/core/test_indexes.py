"""No index of FeeDesk's tables is the leading part of another: every insert would write it for nothing."""

from django.apps import apps
from django.db import connection

# Non-unique, non-partial indexes whose columns (and operator classes), in order, lead another
# index of the same table: such an index answers nothing the longer one cannot.
REDUNDANT = """
SELECT shorter.indexrelid::regclass::text, longer.indexrelid::regclass::text
FROM pg_index shorter
JOIN pg_index longer ON longer.indrelid = shorter.indrelid AND longer.indexrelid <> shorter.indexrelid
WHERE shorter.indrelid::regclass::text = ANY(%s)
  AND NOT shorter.indisunique AND shorter.indpred IS NULL AND longer.indpred IS NULL
  AND (longer.indclass::text || ' ') LIKE (shorter.indclass::text || ' %%')
  AND (longer.indkey::text || ' ') LIKE (shorter.indkey::text || ' %%')
ORDER BY 1, 2
"""


def test_no_index_is_led_by_another(postgres_only):
    # Django's own many-to-many tables are left out: their indexes are not FeeDesk's to choose.
    tables = [model._meta.db_table for model in apps.get_models() if model.__module__.startswith("feedesk.")]
    assert "payments_payment" in tables and "ledger_posting" in tables
    with connection.cursor() as cursor:
        cursor.execute(REDUNDANT, [tables])
        assert cursor.fetchall() == []
