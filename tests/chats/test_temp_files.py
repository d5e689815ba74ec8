"""The chat stage and the chat outputs sort every message; SQLite's temporary files for those
sorts are made in the owner-only scan folder, never in the system's temp folder."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from fellwatch.scan import job, pipeline
from fellwatch.scan.job import scan
from fellwatch.settings import ScanSettings
from tests.scan.test_sqlite_temp import temp_directory


def test_the_chat_stage_and_outputs_run_with_temp_files_in_the_scan_folder(
        chat_trees: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    seen: dict[str, str] = {}
    stage, outputs = pipeline.run_chat_stage, job.write_chat_outputs

    def chat_stage(*args: Any, **kwargs: Any) -> Any:
        seen["stage"] = temp_directory()
        return stage(*args, **kwargs)

    def chat_outputs(*args: Any, **kwargs: Any) -> Any:
        seen["outputs"] = temp_directory()
        return outputs(*args, **kwargs)

    monkeypatch.setattr(pipeline, "run_chat_stage", chat_stage)
    monkeypatch.setattr(job, "write_chat_outputs", chat_outputs)
    before = temp_directory()
    out = tmp_path / "out"
    findings = scan([str(chat_trees["android.zip"])], out, ScanSettings(workers=1),
                    progress=False).findings
    assert findings["summary"]["messages"] > 0
    assert seen == {"stage": str(out.resolve()), "outputs": str(out.resolve())}
    assert temp_directory() == before
