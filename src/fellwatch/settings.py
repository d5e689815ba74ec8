"""Every setting declared once: name, type, default, environment variable and help.

The CLI flags, the environment variables and `docs/settings.md` all come from this list
(a test fails when a setting is missing from the docs).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any


@dataclass(frozen=True, slots=True)
class Setting:
    """A setting that is not a scan setting (read from the environment only)."""

    env: str
    default: str
    help: str


DATA_DIR = Setting(
    env="FELLWATCH_DATA_DIR",
    default="~/.local/share/fellwatch",
    help="where Fellwatch keeps its own data: imported hash sets, indexes, the records database",
)

SETTINGS: tuple[Setting, ...] = (DATA_DIR,)


def data_dir() -> Path:
    """The data directory: $FELLWATCH_DATA_DIR, else ~/.local/share/fellwatch (not created)."""
    value = os.environ.get(DATA_DIR.env, "").strip()
    return Path(value or DATA_DIR.default).expanduser()


def _meta(env: str, help: str, affects_results: bool = True) -> dict[str, Any]:
    return {"env": env, "help": help, "affects_results": affects_results}


@dataclass(frozen=True)
class ScanSettings:
    """Settings of one scan. Those that change results are written into findings.json."""

    workers: int = field(
        default=0,
        metadata=_meta(
            "FELLWATCH_WORKERS",
            "worker processes for reading and hashing (0 = one per core)",
            affects_results=False,
        ),
    )
    max_content_bytes: int = field(
        default=256 << 20,
        metadata=_meta(
            "FELLWATCH_MAX_CONTENT_BYTES",
            "largest picture or archive member held in memory for content signals",
        ),
    )
    archive_max_depth: int = field(
        default=5, metadata=_meta("FELLWATCH_ARCHIVE_MAX_DEPTH", "deepest archive nesting expanded")
    )
    archive_max_bytes: int = field(
        default=4 << 30,
        metadata=_meta(
            "FELLWATCH_ARCHIVE_MAX_BYTES", "expanded bytes allowed per outermost archive"
        ),
    )
    archive_max_ratio: float = field(
        default=200.0,
        metadata=_meta(
            "FELLWATCH_ARCHIVE_MAX_RATIO", "expanded/compressed ratio past which it is a bomb"
        ),
    )
    pdq_threshold: int = field(
        default=31, metadata=_meta("FELLWATCH_PDQ_THRESHOLD", "PDQ match distance (of 256 bits)")
    )
    pdq_min_quality: int = field(
        default=50,
        metadata=_meta(
            "FELLWATCH_PDQ_MIN_QUALITY", "PDQ hashes below this quality are not matched"
        ),
    )
    carve: bool = field(
        default=True,
        metadata=_meta("FELLWATCH_CARVE", "carve pictures and videos from unallocated space"),
    )
    chat_rules: str = field(
        default="",
        metadata=_meta(
            "FELLWATCH_CHAT_RULES",
            "risk-indicator rule file for chats (TOML; empty = the built-in rules)",
        ),
    )

    @classmethod
    def from_env(cls, **overrides: Any) -> ScanSettings:
        values: dict[str, Any] = {}
        for f in fields(cls):
            env = os.environ.get(f.metadata["env"])
            if env is not None:
                values[f.name] = _parse(env, type(f.default))
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)

    def affecting_results(self) -> dict[str, Any]:
        return {
            f.name: getattr(self, f.name) for f in fields(self) if f.metadata["affects_results"]
        }

    def worker_count(self) -> int:
        return self.workers or (os.cpu_count() or 1)


def _parse(text: str, kind: type) -> Any:
    if kind is bool:
        return text.strip().lower() in ("1", "true", "yes", "on")
    return kind(text)


def describe_settings() -> list[dict[str, Any]]:
    """Name, default, environment variable and help of every scan setting (for docs and --help)."""
    return [{"name": f.name, "default": f.default, **f.metadata} for f in fields(ScanSettings)]


def settings_markdown() -> str:
    """docs/settings.md, generated from the declarations above (a test keeps them equal)."""
    lines = [
        "# Scan settings",
        "",
        "Generated from `src/fellwatch/settings.py` by "
        "`python -c 'import fellwatch.settings as s; print(s.settings_markdown(), end=\"\")'`.",
        "Each setting is a `fellwatch scan` flag and an environment variable; the flag wins.",
        "Settings marked *result* change findings and are recorded in `findings.json`.",
        "",
        "| flag | environment | default | result | meaning |",
        "|---|---|---|---|---|",
    ]
    for s in describe_settings():
        flag = "--" + s["name"].replace("_", "-")
        if isinstance(s["default"], bool):
            flag += f"` / `--no-{s['name'].replace('_', '-')}"
        lines.append(
            f"| `{flag}` | `{s['env']}` | {s['default']} | "
            f"{'yes' if s['affects_results'] else 'no'} | {s['help']} |"
        )
    lines += ["", "Outside a scan:", ""]
    lines += [f"- `{s.env}` (default `{s.default}`): {s.help}" for s in SETTINGS]
    lines.append("")
    return "\n".join(lines)
