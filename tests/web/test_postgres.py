"""The model, statistics, validation, CSV-rule, edit/void, void-read-only, void-link,
outsider-walk and leak suites again, unchanged, against a real PostgreSQL server.

They run in a child pytest whose settings point at the server (FELLWATCH_DATABASE_URL), with a
throw-away test database of its own name, so parallel workers and other checkouts never meet.
No server is a failure, not a skip.
"""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SERVER_URL = os.environ.get("FELLWATCH_TEST_POSTGRES_URL",
                            "postgresql://postgres@127.0.0.1:5432/postgres")


@pytest.mark.postgres
@pytest.mark.slow
def test_model_and_statistics_suites_on_postgresql(tmp_path: Path) -> None:
    import psycopg

    try:
        psycopg.connect(SERVER_URL, connect_timeout=5).close()
    except psycopg.OperationalError as exc:
        pytest.fail(f"PostgreSQL is needed at {SERVER_URL} (.ci/run starts it): {exc}")
    env = {**os.environ,
           "FELLWATCH_DATABASE_URL": SERVER_URL,
           "FELLWATCH_TEST_DB_NAME": f"test_fellwatch_web_{uuid.uuid4().hex[:12]}",
           "FELLWATCH_DATA_DIR": str(tmp_path),
           "DJANGO_SETTINGS_MODULE": "fellwatch.web.settings"}
    env.pop("PYTEST_XDIST_WORKER", None)
    env.pop("PYTEST_XDIST_TESTRUNUID", None)
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-p", "no:xdist", "-q",
         "tests/web/test_models.py", "tests/web/test_stats.py", "tests/web/test_validation.py",
         "tests/web/test_csv_rules.py", "tests/web/test_edit_and_void.py",
         "tests/web/test_void_read_only.py", "tests/web/test_void_links.py",
         "tests/web/test_outsider_choices.py", "tests/web/test_leaks.py",
         "tests/web/test_audit_checkpoint.py", "tests/web/test_review.py",
         "tests/web/test_postgres.py::test_the_child_run_is_on_postgresql"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=600, check=False)
    tail = "\n".join((result.stdout + result.stderr).splitlines()[-40:])
    assert result.returncode == 0, tail
    assert " passed" in tail and "failed" not in tail, tail


def test_the_child_run_is_on_postgresql(db: object) -> None:
    """In the child run: proves the suites beside it really ran on PostgreSQL.
    In the parent run: the SQLite test database."""
    from django.db import connection

    expected = "postgresql" if os.environ.get("FELLWATCH_DATABASE_URL") else "sqlite"
    assert connection.vendor == expected
    if expected == "postgresql":
        assert connection.settings_dict["NAME"].startswith("test_fellwatch_web_")
        with connection.cursor() as cursor:  # the settings' session options reach the server
            cursor.execute("SHOW jit")
            assert cursor.fetchone() == ("off",)
