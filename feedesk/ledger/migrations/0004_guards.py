"""Database guards for the ledger, beyond what the posting code checks.

PostgreSQL: a deferred constraint trigger refuses any transaction that leaves an entry's postings
not summing to zero, and UPDATE or DELETE of entries and postings is refused (TRUNCATE, used only
by test fixtures, is not). SQLite: UPDATE of entries and postings is refused.
"""

from django.db import migrations

PG_FORWARD = """
CREATE OR REPLACE FUNCTION ledger_entry_balanced() RETURNS trigger AS $$
DECLARE total bigint;
BEGIN
    SELECT COALESCE(SUM(amount), 0) INTO total FROM ledger_posting WHERE entry_id = NEW.entry_id;
    IF total <> 0 THEN
        RAISE EXCEPTION 'journal entry % is unbalanced by %', NEW.entry_id, total USING ERRCODE = '23514';
    END IF;
    RETURN NULL;
END $$ LANGUAGE plpgsql;

CREATE CONSTRAINT TRIGGER ledger_posting_balanced
    AFTER INSERT ON ledger_posting DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION ledger_entry_balanced();

CREATE OR REPLACE FUNCTION ledger_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'ledger rows are append-only (% on %)', TG_OP, TG_TABLE_NAME USING ERRCODE = '42501';
END $$ LANGUAGE plpgsql;

CREATE TRIGGER ledger_posting_append_only BEFORE UPDATE OR DELETE ON ledger_posting
    FOR EACH ROW EXECUTE FUNCTION ledger_append_only();
CREATE TRIGGER ledger_entry_append_only BEFORE UPDATE OR DELETE ON ledger_journalentry
    FOR EACH ROW EXECUTE FUNCTION ledger_append_only();
"""

PG_BACKWARD = """
DROP TRIGGER IF EXISTS ledger_entry_append_only ON ledger_journalentry;
DROP TRIGGER IF EXISTS ledger_posting_append_only ON ledger_posting;
DROP TRIGGER IF EXISTS ledger_posting_balanced ON ledger_posting;
DROP FUNCTION IF EXISTS ledger_append_only();
DROP FUNCTION IF EXISTS ledger_entry_balanced();
"""

SQLITE_FORWARD = [
    "CREATE TRIGGER ledger_posting_no_update BEFORE UPDATE ON ledger_posting "
    "BEGIN SELECT RAISE(ABORT, 'ledger rows are append-only'); END",
    "CREATE TRIGGER ledger_entry_no_update BEFORE UPDATE ON ledger_journalentry "
    "BEGIN SELECT RAISE(ABORT, 'ledger rows are append-only'); END",
]
SQLITE_BACKWARD = [
    "DROP TRIGGER IF EXISTS ledger_posting_no_update",
    "DROP TRIGGER IF EXISTS ledger_entry_no_update",
]


def forward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(PG_FORWARD, params=None)
    elif schema_editor.connection.vendor == "sqlite":
        for statement in SQLITE_FORWARD:
            schema_editor.execute(statement)


def backward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(PG_BACKWARD, params=None)
    elif schema_editor.connection.vendor == "sqlite":
        for statement in SQLITE_BACKWARD:
            schema_editor.execute(statement)


class Migration(migrations.Migration):
    dependencies = [("ledger", "0003_initial")]
    operations = [migrations.RunPython(forward, backward)]
