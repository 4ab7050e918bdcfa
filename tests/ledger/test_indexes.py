"""Every payment writes rows to these tables: none of their indexes may be one another's prefix."""

from django.db import connection

MONEY_TABLES = ["ledger_journalentry", "ledger_posting", "payments_payment", "payments_allocation"]

# Non-unique, non-partial indexes whose columns, in order, lead another index of the same table:
# such an index answers nothing the longer one cannot, and costs every insert a write.
REDUNDANT = """
SELECT shorter.indexrelid::regclass::text, longer.indexrelid::regclass::text
FROM pg_index shorter
JOIN pg_index longer ON longer.indrelid = shorter.indrelid AND longer.indexrelid <> shorter.indexrelid
WHERE shorter.indrelid::regclass::text = ANY(%s)
  AND NOT shorter.indisunique AND shorter.indpred IS NULL AND longer.indpred IS NULL
  AND (longer.indclass::text || ' ') LIKE (shorter.indclass::text || ' %%')
  AND (longer.indkey::text || ' ') LIKE (shorter.indkey::text || ' %%')
"""


def test_no_index_on_the_money_tables_is_led_by_another(postgres_only):
    with connection.cursor() as cursor:
        cursor.execute(REDUNDANT, [MONEY_TABLES])
        assert cursor.fetchall() == []
