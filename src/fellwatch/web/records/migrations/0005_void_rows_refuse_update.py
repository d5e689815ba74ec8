"""PostgreSQL only: a row whose voided_at is set refuses every UPDATE, so QuerySet.update()
and raw SQL cannot change a void record either (the model's save refuses it already). The
void itself is the UPDATE that sets voided_at, from a row where it was empty: it passes.
SQLite has no such trigger here: there the model layer is the guard (docs/web.md)."""

from typing import Any

from django.db import migrations

# Table → the record's name in the refusal, as the model says it ("This arrest is void ...").
VOIDABLE_TABLES = {
    "records_case": "case",
    "records_person": "person",
    "records_searchwarrant": "search warrant",
    "records_arrest": "arrest",
    "records_exhibit": "exhibit",
    "records_safeguardingrecord": "safeguarding record",
}
FUNCTION = "fellwatch_void_row_read_only"

CREATE_FUNCTION = f"""
CREATE OR REPLACE FUNCTION {FUNCTION}() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF OLD.voided_at IS NOT NULL THEN
        RAISE EXCEPTION 'This % is void (%) and cannot be changed.', TG_ARGV[0], OLD.void_reason
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    RETURN NEW;
END;
$$;
"""


def _trigger(table: str) -> str:
    return f"{table}_void_read_only"


def forwards(apps: Any, schema_editor: Any) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(CREATE_FUNCTION)
    for table, name in VOIDABLE_TABLES.items():
        schema_editor.execute(
            f"CREATE TRIGGER {_trigger(table)} BEFORE UPDATE ON {table} FOR EACH ROW "
            f"EXECUTE FUNCTION {FUNCTION}('{name}')")


def backwards(apps: Any, schema_editor: Any) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return
    for table in VOIDABLE_TABLES:
        schema_editor.execute(f"DROP TRIGGER IF EXISTS {_trigger(table)} ON {table}")
    schema_editor.execute(f"DROP FUNCTION IF EXISTS {FUNCTION}()")


class Migration(migrations.Migration):

    dependencies = [
        ("records", "0004_merge_full_finding_and_validation"),
    ]

    operations = [
        migrations.RunPython(forwards, backwards, elidable=False),
    ]
