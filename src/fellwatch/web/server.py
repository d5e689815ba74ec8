"""`fellwatch serve`: the records on a production WSGI server (gunicorn), or Django's
development server with `--dev`.

Why gunicorn: it is the WSGI server most Django deployments run, pre-forks workers so one
stuck request cannot hold up the others, restarts a worker that dies, and has TLS options of
its own for a small unit without a reverse proxy. Waitress was the other candidate (it also runs
on Windows); the records run on Linux, where gunicorn's worker management is the better fit.
Static files come from the app itself (WhiteNoise), so no second server is needed for them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fellwatch.errors import UsageError


class ServeError(UsageError):
    """The server cannot start; the message says why and what to do (exit code 2)."""


@dataclass(frozen=True)
class ServeOptions:
    host: str = "127.0.0.1"
    port: int = 8000
    workers: int = 2
    threads: int = 4
    certfile: str = ""
    keyfile: str = ""
    timeout: int = 120  # a PDF print or a large CSV import, not an idle client


def pending_migrations() -> list[str]:
    """The migrations the store has not had yet ("app.name")."""
    from django.db import connection
    from django.db.migrations.executor import MigrationExecutor

    executor = MigrationExecutor(connection)
    plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
    return [f"{m.app_label}.{m.name}" for m, _ in plan]


def check_store() -> None:
    """Refuse to serve a store that is behind the code: migrations are their own step
    (`fellwatch records migrate`), run once per upgrade, not at every start."""
    pending = pending_migrations()
    if pending:
        raise ServeError(f"the store needs {len(pending)} migration(s) ({pending[0]}, …): "
                         "run `fellwatch records migrate` first")


def run_production(options: ServeOptions) -> None:
    from gunicorn.app.base import BaseApplication

    if bool(options.certfile) != bool(options.keyfile):
        raise ServeError("--certfile and --keyfile go together")

    class Records(BaseApplication):
        def load_config(self) -> None:
            config: dict[str, Any] = {
                "bind": f"{options.host}:{options.port}",
                "workers": options.workers,
                "threads": options.threads,
                "worker_class": "gthread",
                "timeout": options.timeout,
                "graceful_timeout": 30,
                # Requests are not logged line by line: paths carry case ids and searches.
                "accesslog": None,
                "errorlog": "-",
                "proc_name": "fellwatch-records",
            }
            if options.certfile:
                config.update(certfile=options.certfile, keyfile=options.keyfile)
            for key, value in config.items():
                self.cfg.set(key, value)

        def load(self) -> Any:
            from fellwatch.web.wsgi import application

            return application

    Records().run()


def run_dev(host: str, port: int) -> None:
    from django.core.management import call_command

    # Django's own server, for development; --insecure only means "serve the static files".
    call_command("runserver", f"{host}:{port}", use_reloader=False, insecure_serving=True)
