"""Every setting declared once: name, type, default, environment variable and help.

The CLI flags, the environment variables and `docs/settings.md` all come from this list
(a test fails when a setting is missing from the docs).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from fellwatch.errors import SettingError
from fellwatch.faults import FAULTS, TEST_SWITCH


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


def _meta(
    env: str,
    help: str,
    affects_results: bool = True,
    bounds: tuple[float, float] | None = None,
) -> dict[str, Any]:
    """`bounds` is the valid (lowest, highest) value, both included: refused before any work."""
    return {"env": env, "help": help, "affects_results": affects_results, "bounds": bounds}


@dataclass(frozen=True)
class ScanSettings:
    """Settings of one scan. Those that change results are written into findings.json."""

    workers: int = field(
        default=0,
        metadata=_meta(
            "FELLWATCH_WORKERS",
            "worker processes for reading and hashing (0 = one per core)",
            affects_results=False,
            bounds=(0, 256),
        ),
    )
    max_content_bytes: int = field(
        default=256 << 20,
        metadata=_meta(
            "FELLWATCH_MAX_CONTENT_BYTES",
            "largest picture or archive member held in memory for content signals",
            bounds=(1 << 10, 16 << 30),
        ),
    )
    archive_max_depth: int = field(
        default=5,
        metadata=_meta(
            "FELLWATCH_ARCHIVE_MAX_DEPTH", "deepest archive nesting expanded", bounds=(1, 64)
        ),
    )
    archive_max_bytes: int = field(
        default=4 << 30,
        metadata=_meta(
            "FELLWATCH_ARCHIVE_MAX_BYTES",
            "expanded bytes allowed per outermost archive",
            bounds=(1 << 20, 1 << 50),
        ),
    )
    archive_max_ratio: float = field(
        default=200.0,
        metadata=_meta(
            "FELLWATCH_ARCHIVE_MAX_RATIO",
            "expanded/compressed ratio past which it is a bomb",
            bounds=(1.0, 100_000.0),
        ),
    )
    pdq_threshold: int = field(
        default=31,
        metadata=_meta(
            "FELLWATCH_PDQ_THRESHOLD", "PDQ match distance (of 256 bits)", bounds=(0, 64)
        ),
    )
    pdq_min_quality: int = field(
        default=50,
        metadata=_meta(
            "FELLWATCH_PDQ_MIN_QUALITY",
            "PDQ hashes below this quality are not matched",
            bounds=(0, 100),
        ),
    )
    pdq_candidate_band: int = field(
        default=8,
        metadata=_meta(
            "FELLWATCH_PDQ_CANDIDATE_BAND",
            "PDQ distances up to this many bits past the threshold are candidates for review "
            "(0 = none)",
            bounds=(0, 64),
        ),
    )
    pdq_candidate_min_quality: int = field(
        default=20,
        metadata=_meta(
            "FELLWATCH_PDQ_CANDIDATE_MIN_QUALITY",
            "PDQ hashes below pdq_min_quality but at least this quality give candidates "
            "within the threshold",
            bounds=(0, 100),
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
    thumbnails: bool = field(
        default=True,
        metadata=_meta(
            "FELLWATCH_THUMBNAILS",
            "keep a small thumbnail of every picture and a frame strip of every video in "
            "scan.sqlite, for the review gallery",
            affects_results=False,
        ),
    )

    def __post_init__(self) -> None:
        # Every setting is checked here, before any work: a value out of range would otherwise
        # fail item by item (archive depth 0 "runs" and fails every archive).
        for f in fields(self):
            value = getattr(self, f.name)
            kind = type(f.default)
            if not _is_kind(value, kind):
                raise SettingError(f"{_flag(f.name)} must be {_kind_name(kind)} (got {value!r})")
            bounds = f.metadata["bounds"]
            if bounds is not None and not bounds[0] <= value <= bounds[1]:
                low, high = (_show(b, kind) for b in bounds)
                raise SettingError(
                    f"{_flag(f.name)} must be between {low} and {high} (got {_show(value, kind)})"
                )

    @classmethod
    def from_env(cls, **overrides: Any) -> ScanSettings:
        """Settings from the environment, then `overrides` (the flags). Raises SettingError."""
        values: dict[str, Any] = {}
        for f in fields(cls):
            env = os.environ.get(f.metadata["env"])
            if env is not None:
                try:
                    values[f.name] = _parse(env, type(f.default))
                except ValueError as exc:
                    raise SettingError(
                        f"{f.metadata['env']}={env!r} is not {_kind_name(type(f.default))}"
                    ) from exc
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
        word = text.strip().lower()
        if word not in ("1", "true", "yes", "on", "0", "false", "no", "off", ""):
            raise ValueError(text)
        return word in ("1", "true", "yes", "on")
    return kind(text)


def _is_kind(value: object, kind: type) -> bool:
    if kind is float:  # an int is a fine float; a bool is neither
        return isinstance(value, int | float) and not isinstance(value, bool)
    if kind is int:
        return isinstance(value, int) and not isinstance(value, bool)
    return isinstance(value, kind)


def _flag(name: str) -> str:
    return "--" + name.replace("_", "-")


def _kind_name(kind: type) -> str:
    return {int: "a whole number", float: "a number", bool: "true or false"}.get(
        kind, kind.__name__
    )


def _show(value: float, kind: type) -> str:
    return f"{value:g}" if kind is float else f"{int(value)}"


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
    lines += [
        "",
        "Each value is checked before any work; one outside its range is refused with exit "
        "status 2 and the valid range:",
        "",
        "| setting | lowest | highest |",
        "|---|---|---|",
    ]
    for s in describe_settings():
        if s["bounds"] is not None:
            kind = type(s["default"])
            low, high = (_show(b, kind) for b in s["bounds"])
            lines.append(f"| `{_flag(s['name'])}` | {low} | {high} |")
    lines += ["", "Outside a scan:", ""]
    lines += [f"- `{s.env}` (default `{s.default}`): {s.help}" for s in SETTINGS]
    lines += [
        "",
        f"Fault injection, for Fellwatch's own failure tests only: inert unless `{TEST_SWITCH}=1` "
        "is set as well.",
        "",
    ]
    lines += [f"- `{f.env}`: {f.help}" for f in FAULTS]
    lines.append("")
    return "\n".join(lines)
