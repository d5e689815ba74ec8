"""What must not leak: throttling both ways, the store's file modes, the audit log beyond its
unit's auditors, exact small counts beyond supervisors."""

from __future__ import annotations

import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

from django.test import Client
from django.urls import reverse

PASSWORD = "correct horse battery staple 7"
ROOT = Path(__file__).resolve().parents[2]


def _login(client: Client, username: str, password: str, address: str) -> Any:
    return client.post(reverse("login"), {"username": username, "password": password},
                       REMOTE_ADDR=address)


def test_one_user_is_locked_whatever_the_addresses(make_user: Any, client: Client) -> None:
    make_user("pat.officer", "examiner", password=PASSWORD)
    for i in range(5):
        _login(client, "pat.officer", "wrong password", f"10.0.1.{i}")
    assert _login(client, "pat.officer", PASSWORD, "10.0.1.99").status_code == 429


def test_one_address_is_locked_whatever_the_users(make_user: Any, client: Client) -> None:
    """One password sprayed across many users from one address."""
    make_user("victim.officer", "examiner", password=PASSWORD)
    for i in range(5):
        _login(client, f"someone.{i}", "Spring2026!", "10.0.2.7")
    assert _login(client, "victim.officer", PASSWORD, "10.0.2.7").status_code == 429
    # From elsewhere the user is not locked out.
    assert _login(client, "victim.officer", PASSWORD, "10.0.2.8").status_code == 302


def test_the_store_is_private_to_the_service_user(tmp_path: Path) -> None:
    data = tmp_path / "data"
    env = {"FELLWATCH_DATA_DIR": str(data), "PYTHONPATH": f"{ROOT / 'src'}:{ROOT}",
           "PATH": "/usr/bin:/bin"}
    # A permissive umask, as a careless service unit might have.
    result = subprocess.run(
        ["sh", "-c", f"umask 022 && {sys.executable} -m fellwatch records migrate"],
        env=env, capture_output=True, text=True, timeout=300, check=False)
    assert result.returncode == 0, result.stderr
    assert stat.S_IMODE(data.stat().st_mode) == 0o700
    for name in ("records.sqlite3", "secret_key"):
        assert stat.S_IMODE((data / name).stat().st_mode) == 0o600, name
    # serve starts on a migrated store only; a new one is refused, naming the command.
    fresh = dict(env, FELLWATCH_DATA_DIR=str(tmp_path / "fresh"))
    refused = subprocess.run([sys.executable, "-m", "fellwatch", "serve", "--port", "1"],
                             env=fresh, capture_output=True, text=True, timeout=120,
                             check=False)
    assert refused.returncode == 2 and "fellwatch records migrate" in refused.stderr


def test_the_audit_log_is_its_units_auditors(world: dict[str, Any], make_user: Any,
                                            client: Client) -> None:
    south_auditor = make_user("sue.auditor", "auditor", unit="Cyber Unit South")
    client.force_login(world["examiner"])
    client.get(reverse("case", kwargs={"case_id": world["case"].pk}))
    client.force_login(world["foreign"])
    client.get(reverse("case", kwargs={"case_id": world["other_case"].pk}))
    client.force_login(world["auditor"])
    north = client.get(reverse("audit-log")).content.decode()
    assert "erin.examiner" in north and "fred.foreign" not in north
    assert "case CUN/2026/001" in north  # entries name what they touched
    client.force_login(south_auditor)
    south = client.get(reverse("audit-log")).content.decode()
    assert "fred.foreign" in south and "erin.examiner" not in south
    # Search and paging.
    client.force_login(world["auditor"])
    found = client.get(reverse("audit-log"), {"q": "exhibit JD/1"}).content.decode()
    assert "exhibit JD/1" in found


def test_exact_small_counts_are_the_supervisors(world: dict[str, Any], client: Client) -> None:
    day = {"from": "2026-03-03", "to": "2026-03-03"}
    client.force_login(world["supervisor"])
    exact = client.get("/api/stats", day).json()
    assert exact["exact"] is True and exact["arrests"] == 1
    for who in ("examiner", "auditor"):
        client.force_login(world[who])
        data = client.get("/api/stats", day).json()
        assert data["exact"] is False and data["arrests"] == "<5", who
        page = client.get("/stats/", day).content.decode()
        assert '<td class="n" id="fig-arrests">&lt;5</td>' in page
    chart = client.get("/stats/chart/enforcement.svg", day).content.decode()
    assert "per month" in chart


def test_health_says_ok_and_nothing_else(db: Any, client: Client) -> None:
    response = client.get("/health")
    assert response.status_code == 200 and response.content == b"ok\n"
