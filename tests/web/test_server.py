"""`fellwatch serve` is a production server: gunicorn answering on loopback, static files from
the app (WhiteNoise), a health URL; migrations are their own command."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_serve_runs_gunicorn_with_static_files_and_health(tmp_path: Path) -> None:
    import httpx

    env = {**os.environ, "FELLWATCH_DATA_DIR": str(tmp_path / "data"),
           "PYTHONPATH": f"{ROOT / 'src'}{os.pathsep}{ROOT}"}
    env.pop("FELLWATCH_DATABASE_URL", None)
    migrated = subprocess.run([sys.executable, "-m", "fellwatch", "records", "migrate"],
                              env=env, capture_output=True, text=True, timeout=300, check=False)
    assert migrated.returncode == 0 and "migration(s) applied" in migrated.stdout, migrated
    again = subprocess.run([sys.executable, "-m", "fellwatch", "records", "migrate"],
                           env=env, capture_output=True, text=True, timeout=300, check=False)
    assert again.stdout.strip() == "store up to date"
    port = _free_port()
    log = (tmp_path / "server.log").open("w")
    server = subprocess.Popen([sys.executable, "-m", "fellwatch", "serve", "--port", str(port),
                               "--workers", "1", "--threads", "2"],
                              env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(120):
            try:
                health = httpx.get(base + "/health", timeout=2)
                break
            except httpx.HTTPError:
                assert server.poll() is None, (tmp_path / "server.log").read_text()
                time.sleep(0.5)
        assert health.status_code == 200 and health.text == "ok\n"
        assert health.headers["server"] == "gunicorn"
        css = httpx.get(base + "/static/fellwatch/site.css", timeout=10)
        assert css.status_code == 200 and "font-family" in css.text
        assert css.headers["content-type"].startswith("text/css")
        # Case data is never cached; static files may be.
        assert "no-store" not in css.headers.get("cache-control", "")
        login = httpx.get(base + "/login/", timeout=10)
        assert login.status_code == 200 and "no-store" in login.headers["cache-control"]
        missing = httpx.get(base + "/no/such/page/", timeout=10)
        assert missing.status_code == 404 and "Not found" in missing.text
    finally:
        server.terminate()
        server.wait(timeout=30)
    assert "Using worker: gthread" in (tmp_path / "server.log").read_text()
