"""The records under load: `fellwatch serve` (gunicorn) with N concurrent officers.

For each store (SQLite, PostgreSQL), in a throw-away data directory (and database):
  * migrates, seeds a year of invented records (`seed_year`) and one scan of --findings
    findings on one exhibit, and N users (examiners on every case, and supervisors);
  * starts the production server on loopback and logs every user in;
  * runs a realistic mix for --duration seconds: case pages, exhibit pages, the findings page
    of the large scan, statistics (page and API), case and exhibit searches, and custody entries
    written (each user on an exhibit of its own, so the chain's time order holds), with `/health`
    in the mix as the same-run baseline;
  * prints requests/s, p50/p95/p99 per kind and overall, errors, and the writes counted in the
    store afterwards against the writes the clients saw succeed (lost or duplicated: 0 expected).

Loopback only; bounded by --duration. Run: `python -m bench.load [--duration 300] [--users 20]
[--findings 100000] [--store sqlite|postgresql|both]`.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
PASSWORD = "a long synthetic bench passphrase 42"
POSTGRES = os.environ.get("FELLWATCH_TEST_POSTGRES_URL",
                          "postgresql://postgres@127.0.0.1:5432/postgres")
# kind → weight in the mix
MIX = {"case": 22, "exhibit": 18, "findings": 10, "stats": 8, "api-stats": 6, "case-search": 10,
       "exhibit-list": 8, "custody-write": 12, "health": 6}
SKIP: set[str] = set()  # --skip

SEED = """
import sys
from datetime import timedelta
from django.contrib.auth import get_user_model
from django.utils import timezone
from fellwatch.web.records import models as m
from fellwatch.web.records.synthetic import YearPlan, seed_year
from fellwatch.web.audit.actor import acting_as

users, findings, password = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
seed_year("Cyber Unit North", YearPlan(year=2025), seed=2025)
unit = m.Unit.objects.get(name="Cyber Unit North")
User = get_user_model()
made = []
with acting_as("bench"):
    for i in range(users):
        role = "supervisor" if i % 5 == 4 else "examiner"
        user = User.objects.create_user(f"bench.{i:02d}", password=password,
                                        first_name="Bench", last_name=f"Officer {i}")
        m.Officer.objects.create(user=user, unit=unit, role=role, collar_number=f"PC {9000+i}")
        made.append(user)
    cases = list(m.Case.objects.filter(unit=unit))
    for case in cases:
        case.assigned.add(*made)
    exhibits = list(m.Exhibit.objects.filter(case__unit=unit).order_by("pk"))
    big = exhibits[0]
    evidence = m.Evidence.objects.create(exhibit=big, path="/evidence/bench.E01",
                                         sha256="e" * 64, format="ewf")
    scan = m.Scan.objects.create(exhibit=big, out_dir="/nonexistent/bench",
                                 findings_sha256=("f" * 56) + "%08d" % findings,
                                 tool_version="bench", schema=1)
    scan.evidence.add(evidence)
    cats = ["A", "B", "C", "", "", ""]
    batch = []
    for n in range(findings):
        cat = cats[n % len(cats)]
        batch.append(m.Finding(scan=scan, case_id=big.case_id, evidence_path=evidence.path,
                               key=f"{n:08d}", path=f"/DCIM/{n:08d}.jpg", folder="/DCIM/",
                               size=1000 + n, known_bad=bool(cat), categories=cat,
                               sha256=f"{n:064x}", category=cat, review=(cat == "" and n % 2 == 0),
                               known_good=(cat == "" and n % 2 == 1)))
        if len(batch) == 5000:
            m.Finding.objects.bulk_create(batch)
            batch = []
    m.Finding.objects.bulk_create(batch)
# user i writes custody of exhibit i (one chain per writer keeps the chain's time order)
for i, user in enumerate(made):
    ex = exhibits[1 + i]
    print(f"USER {user.username} {ex.case_id} {ex.pk}")
print(f"BIG {big.case_id} {big.pk} {scan.pk}")
print("CASES " + " ".join(str(c.pk) for c in cases))
print("EXHIBITS " + " ".join(f"{e.case_id}:{e.pk}" for e in exhibits))
"""

COUNT = """
import sys
from fellwatch.web.records.models import CustodyEntry
from fellwatch.web.audit.log import verify
for line in sys.stdin:
    username, exhibit = line.split()
    n = CustodyEntry.objects.filter(exhibit_id=int(exhibit), reason__startswith="bench write ",
                                    reason__endswith=f" by {username}.").count()
    print(username, n)
print("AUDIT", verify(full=True).ok)
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _env(data_dir: Path, database_url: str) -> dict[str, str]:
    env = {**os.environ, "FELLWATCH_DATA_DIR": str(data_dir),
           "PYTHONPATH": f"{ROOT / 'src'}{os.pathsep}{ROOT}",
           "DJANGO_SETTINGS_MODULE": "fellwatch.web.settings"}
    env.pop("FELLWATCH_DATABASE_URL", None)
    if database_url:
        env["FELLWATCH_DATABASE_URL"] = database_url
    return env


def _django(env: dict[str, str], code: str, *args: str, stdin: str = "") -> str:
    script = "import django; django.setup()\n" + code
    result = subprocess.run([sys.executable, "-c", script, *args], env=env, input=stdin,
                            capture_output=True, text=True, timeout=1800, check=False)
    if result.returncode != 0:
        raise SystemExit(f"bench: setup failed:\n{result.stderr[-3000:]}")
    return result.stdout


@dataclass
class World:
    writers: dict[str, tuple[int, int]] = field(default_factory=dict)  # user → (case, exhibit)
    big: tuple[int, int, int] = (0, 0, 0)
    cases: list[int] = field(default_factory=list)
    exhibits: list[tuple[int, int]] = field(default_factory=list)


def _parse(out: str) -> World:
    world = World()
    for line in out.splitlines():
        head, _, rest = line.partition(" ")
        if head == "USER":
            name, case, exhibit = rest.split()
            world.writers[name] = (int(case), int(exhibit))
        elif head == "BIG":
            a, b, c = rest.split()
            world.big = (int(a), int(b), int(c))
        elif head == "CASES":
            world.cases = [int(x) for x in rest.split()]
        elif head == "EXHIBITS":
            world.exhibits = [(int(a), int(b)) for a, b in (x.split(":") for x in rest.split())]
    return world


@dataclass
class Tally:
    times: dict[str, list[float]] = field(default_factory=dict)
    errors: dict[str, int] = field(default_factory=dict)
    writes: dict[str, int] = field(default_factory=dict)
    first_error: str = ""

    def add(self, kind: str, seconds: float, ok: bool, why: str = "") -> None:
        self.times.setdefault(kind, []).append(seconds)
        if not ok:
            self.errors[kind] = self.errors.get(kind, 0) + 1
            self.first_error = self.first_error or f"{kind}: {why}"


class Officer:
    """One user's session: cookies kept by hand (the records' cookies are Secure, and a
    loopback bench speaks plain HTTP; a browser treats localhost as secure, httpx does not)."""

    def __init__(self, client: Any, base: str, username: str) -> None:
        self.client, self.base, self.username = client, base, username
        self.cookies: dict[str, str] = {}

    async def request(self, method: str, path: str, **kwargs: Any) -> Any:
        headers = {"Cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items())}
        if method == "POST":
            headers["Referer"] = self.base + path
        response = await self.client.request(method, self.base + path, headers=headers,
                                             follow_redirects=False, **kwargs)
        for name, value in response.cookies.items():
            self.cookies[name] = value
        return response

    async def form_token(self, path: str) -> str:
        page = await self.request("GET", path)
        match = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text)
        if page.status_code != 200 or match is None:
            raise RuntimeError(f"{path}: no form ({page.status_code})")
        return match.group(1)

    async def login(self) -> None:
        token = await self.form_token("/login/")
        response = await self.request("POST", "/login/", data={
            "username": self.username, "password": PASSWORD, "csrfmiddlewaretoken": token})
        if response.status_code != 302:
            raise RuntimeError(f"log-in of {self.username} failed ({response.status_code})")


async def _one(officer: Officer, world: World, kind: str, rng: random.Random,
               tally: Tally, seq: list[int]) -> None:
    case, exhibit = rng.choice(world.exhibits)
    paths = {
        "case": f"/cases/{rng.choice(world.cases)}/",
        "exhibit": f"/cases/{case}/exhibits/{exhibit}/",
        "findings": f"/cases/{world.big[0]}/exhibits/{world.big[1]}/scans/{world.big[2]}/",
        "stats": "/stats/?from=2025-01-01&to=2025-12-31",
        "api-stats": f"/api/stats?from=2025-{rng.randint(1, 12):02d}-01&to=2025-12-31",
        "case-search": f"/cases/?q=SYN/2025/{rng.randint(1, 60):03d}",
        "exhibit-list": f"/exhibits/?page={rng.randint(1, 3)}",
        "health": "/health",
    }
    start = time.perf_counter()
    try:
        if kind == "custody-write":
            own_case, own_exhibit = world.writers[officer.username]
            path = f"/cases/{own_case}/exhibits/{own_exhibit}/custody/new/"
            token = await officer.form_token(path)
            seq[0] += 1
            now = datetime.now(ZoneInfo("Europe/London")).strftime("%Y-%m-%dT%H:%M")
            response = await officer.request("POST", path, data={
                "csrfmiddlewaretoken": token, "action": "accessed", "at": now,
                "reason": f"bench write {seq[0]} by {officer.username}.", "seal_intact": "true",
                "seal_number": "BENCH"})
            ok = response.status_code == 302
            if ok:
                tally.writes[officer.username] = tally.writes.get(officer.username, 0) + 1
            why = "" if ok else f"{response.status_code} {response.text[:300]}"
        else:
            response = await officer.request("GET", paths[kind])
            ok = response.status_code == 200
            why = "" if ok else f"{paths[kind]} {response.status_code}"
    except Exception as exc:  # a refused connection, a time-out: an error of the run
        ok, why = False, f"{type(exc).__name__}: {exc}"
    tally.add(kind, time.perf_counter() - start, ok, why)


async def _user(officer: Officer, world: World, deadline: float, seed: int,
                tally: Tally) -> None:
    rng = random.Random(seed)
    kinds = [k for k in MIX if k not in SKIP]
    weights = [MIX[k] for k in kinds]
    seq = [0]
    while time.perf_counter() < deadline:
        await _one(officer, world, rng.choices(kinds, weights)[0], rng, tally, seq)


async def _drive(base: str, world: World, users: list[str], duration: float) -> tuple[Tally,
                                                                                     float]:
    import httpx

    limits = httpx.Limits(max_connections=len(users) + 5)
    async with httpx.AsyncClient(timeout=120, limits=limits) as client:
        officers = [Officer(client, base, u) for u in users]
        for officer in officers:
            await officer.login()
        tally = Tally()
        start = time.perf_counter()
        await asyncio.gather(*(_user(o, world, start + duration, i, tally)
                               for i, o in enumerate(officers)))
        return tally, time.perf_counter() - start


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


def _report(store: str, tally: Tally, elapsed: float, counted: dict[str, int],
            audit_ok: bool, args: argparse.Namespace) -> bool:
    everything = [t for ts in tally.times.values() for t in ts]
    errors = sum(tally.errors.values())
    out = sys.stdout
    out.write(f"\n== {store}: {args.users} users, {elapsed:.0f} s, gunicorn {args.workers}x"
              f"{args.threads}, {args.findings} findings"
              f"{', without ' + ','.join(sorted(SKIP)) if SKIP else ''} ==\n")
    out.write(f"{'kind':<14}{'requests':>9}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}"
              f"{'errors':>8}{'p50/health':>12}\n")
    health = statistics.median(tally.times.get("health", [0.0])) * 1000 or 1.0
    for kind in MIX:
        ts = tally.times.get(kind, [])
        if not ts:
            continue
        out.write(f"{kind:<14}{len(ts):>9}{_pct(ts, .5):>9.1f}{_pct(ts, .95):>9.1f}"
                  f"{_pct(ts, .99):>9.1f}{tally.errors.get(kind, 0):>8}"
                  f"{_pct(ts, .5) / health:>12.1f}\n")
    out.write(f"{'all':<14}{len(everything):>9}{_pct(everything, .5):>9.1f}"
              f"{_pct(everything, .95):>9.1f}{_pct(everything, .99):>9.1f}{errors:>8}\n")
    out.write(f"requests/s: {len(everything) / elapsed:.1f}   errors: {errors}"
              f"{'  first: ' + tally.first_error if tally.first_error else ''}\n")
    seen = sum(tally.writes.values())
    stored = sum(counted.values())
    wrong = {u: (tally.writes.get(u, 0), n) for u, n in counted.items()
             if tally.writes.get(u, 0) != n}
    out.write(f"custody writes: {seen} answered as saved, {stored} in the store; "
              f"lost or duplicated: {sum(abs(a - b) for a, b in wrong.values())}"
              f"{' ' + str(wrong) if wrong else ''}; audit chain intact: {audit_ok}\n")
    return errors == 0 and not wrong and audit_ok


def run_store(store: str, args: argparse.Namespace) -> bool:
    url = ""
    pg_name = ""
    if store == "postgresql":
        import psycopg

        pg_name = f"fellwatch_bench_{uuid.uuid4().hex[:10]}"
        with psycopg.connect(POSTGRES, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{pg_name}"')
        url = POSTGRES.rsplit("/", 1)[0] + "/" + pg_name
    with tempfile.TemporaryDirectory(prefix="fellwatch-bench-load-") as tmp:
        env = _env(Path(tmp) / "data", url)
        server = None
        try:
            subprocess.run([sys.executable, "-m", "fellwatch", "records", "migrate"], env=env,
                           check=True, timeout=600, capture_output=True)
            t0 = time.perf_counter()
            world = _parse(_django(env, SEED, str(args.users), str(args.findings), PASSWORD))
            sys.stdout.write(f"{store}: seeded a year and {args.findings} findings in "
                             f"{time.perf_counter() - t0:.0f} s\n")
            port = _free_port()
            log = (Path(tmp) / "server.log").open("w")
            server = subprocess.Popen(
                [sys.executable, "-m", "fellwatch", "serve", "--host", "127.0.0.1", "--port",
                 str(port), "--workers", str(args.workers), "--threads", str(args.threads)],
                env=env, stdout=log, stderr=subprocess.STDOUT, text=True)
            base = f"http://127.0.0.1:{port}"
            _wait(base, server)
            tally, elapsed = asyncio.run(_drive(base, world, sorted(world.writers),
                                                args.duration))
        finally:
            if server is not None:
                server.terminate()
                server.wait(timeout=30)
                tail = (Path(tmp) / "server.log").read_text().splitlines()[-15:]
                if args.show_log:
                    sys.stdout.write("server log (tail):\n" + "\n".join(tail) + "\n")
        lines = "".join(f"{u} {e}\n" for u, (_, e) in world.writers.items())
        counts: dict[str, int] = {}
        audit_ok = False
        for line in _django(env, COUNT, stdin=lines).splitlines():
            name, value = line.split()
            if name == "AUDIT":
                audit_ok = value == "True"
            else:
                counts[name] = int(value)
    if pg_name:
        import psycopg

        with psycopg.connect(POSTGRES, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{pg_name}" WITH (FORCE)')
    return _report(store, tally, elapsed, counts, audit_ok, args)


def _wait(base: str, server: subprocess.Popen[str]) -> None:
    import httpx

    for _ in range(120):
        if server.poll() is not None:
            raise SystemExit("bench: the server stopped (see its log)")
        try:
            if httpx.get(base + "/health", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise SystemExit("bench: the server did not answer /health in 60 s")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else "")
    parser.add_argument("--duration", type=float, default=30,
                        help="seconds of load per store (the issue's run: 300)")
    parser.add_argument("--users", type=int, default=20)
    parser.add_argument("--findings", type=int, default=100_000)
    parser.add_argument("--store", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--show-log", action="store_true", help="print the server log's tail")
    parser.add_argument("--skip", default="", help="kinds left out of the mix, comma-separated "
                                                 f"(of {', '.join(MIX)})")
    args = parser.parse_args()
    SKIP.update(k for k in args.skip.split(",") if k)
    if SKIP - set(MIX) or not set(MIX) - SKIP:
        parser.error(f"--skip: kinds of {', '.join(MIX)}, not all of them")
    stores = ["sqlite", "postgresql"] if args.store == "both" else [args.store]
    ok = [run_store(store, args) for store in stores]
    return 0 if all(ok) else 1


if __name__ == "__main__":
    sys.exit(main())
