"""On PostgreSQL (the multi-user store) the database itself refuses to change or delete an
audit entry or a custody entry, whoever connects. The hash chain still catches someone who
drops the trigger first. (SQLite is the single-user store; there the application refuses.)"""

from __future__ import annotations

from typing import Any

from django.db import migrations

TABLES = {"audit_auditentry": "auditentry_append_only",
          "records_custodyentry": "custodyentry_append_only"}

FUNCTION = """
CREATE OR REPLACE FUNCTION fellwatch_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'fellwatch: % is append-only', TG_TABLE_NAME
        USING ERRCODE = 'insufficient_privilege';
END
$$ LANGUAGE plpgsql
"""


def forwards(apps: Any, schema_editor: Any) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(FUNCTION, params=None)  # '%' is PL/pgSQL's, not a placeholder
    for table, trigger in TABLES.items():
        schema_editor.execute(
            f"CREATE TRIGGER {trigger} BEFORE UPDATE OR DELETE ON {table} "
            f"FOR EACH ROW EXECUTE FUNCTION fellwatch_append_only()")


def backwards(apps: Any, schema_editor: Any) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return
    for table, trigger in TABLES.items():
        schema_editor.execute(f"DROP TRIGGER IF EXISTS {trigger} ON {table}")
    schema_editor.execute("DROP FUNCTION IF EXISTS fellwatch_append_only()")


class Migration(migrations.Migration):
    dependencies = [("audit", "0001_initial"), ("records", "0001_initial")]
    operations = [migrations.RunPython(forwards, backwards)]
