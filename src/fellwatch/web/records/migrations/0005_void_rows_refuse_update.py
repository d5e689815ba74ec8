"""PostgreSQL only: a row whose voided_at is set refuses every UPDATE, so QuerySet.update()
and raw SQL cannot change a void record either (the model's save refuses it already). The
void itself is the UPDATE that sets voided_at, from a row where it was empty: it passes.
The through tables of a case's assignments and offence types refuse a row of a void case
written, changed or deleted directly (Django sends no signal for them).
SQLite has no such triggers here: there the model layer is the guard (docs/web.md)."""

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
CASE_LINK_TABLES = ("records_case_assigned", "records_case_offence_types")
LINKS_FUNCTION = "fellwatch_void_case_links_read_only"

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

CREATE_LINKS_FUNCTION = f"""
CREATE OR REPLACE FUNCTION {LINKS_FUNCTION}() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    void_case RECORD;
BEGIN
    SELECT reference, void_reason INTO void_case FROM records_case
    WHERE voided_at IS NOT NULL AND id IN (
        CASE WHEN TG_OP = 'INSERT' THEN NULL ELSE OLD.case_id END,
        CASE WHEN TG_OP = 'DELETE' THEN NULL ELSE NEW.case_id END)
    ORDER BY id LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'Case % is void (%): it and everything recorded under it are read-only.',
            void_case.reference, void_case.void_reason
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    IF TG_OP = 'DELETE' THEN
        RETURN OLD;
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
    schema_editor.execute(CREATE_FUNCTION, params=None)  # its % are PL/pgSQL's
    for table, name in VOIDABLE_TABLES.items():
        schema_editor.execute(
            f"CREATE TRIGGER {_trigger(table)} BEFORE UPDATE ON {table} FOR EACH ROW "
            f"EXECUTE FUNCTION {FUNCTION}('{name}')")
    schema_editor.execute(CREATE_LINKS_FUNCTION, params=None)
    for table in CASE_LINK_TABLES:
        schema_editor.execute(
            f"CREATE TRIGGER {_trigger(table)} BEFORE INSERT OR UPDATE OR DELETE ON {table} "
            f"FOR EACH ROW EXECUTE FUNCTION {LINKS_FUNCTION}()")


def backwards(apps: Any, schema_editor: Any) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return
    for table in (*VOIDABLE_TABLES, *CASE_LINK_TABLES):
        schema_editor.execute(f"DROP TRIGGER IF EXISTS {_trigger(table)} ON {table}")
    schema_editor.execute(f"DROP FUNCTION IF EXISTS {FUNCTION}()")
    schema_editor.execute(f"DROP FUNCTION IF EXISTS {LINKS_FUNCTION}()")


class Migration(migrations.Migration):

    dependencies = [
        ("records", "0004_merge_full_finding_and_validation"),
    ]

    operations = [
        migrations.RunPython(forwards, backwards, elidable=False),
    ]
