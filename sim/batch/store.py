"""The run store: one file per finished run in the study folder, written atomically.

A run is keyed by a hash of the canonical scenario as run, its seed and a digest of the
installed ``sim`` source files (an editable install keeps its version string while the code
changes, so the version alone would let a resumed study reuse results of older code).

Layout of a study folder::

    .study.json          the study definition (a resumed study must match it)
    .runs/<key>.json     one record per finished run (indicators, status, error, timing)
    logs/<point>-s<seed>/ run folders, only with keep_logs
    runs.parquet, summary.csv, manifest.json, effects.csv, effects_readable.csv,
    sensitivity.csv   (at the end)

Each file is written to a temporary name in the same folder and renamed into place, so a
killed study leaves either a whole record or none; a resumed study reads the records back and
runs only what is missing (or failed).
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import shutil
import tempfile
from functools import cache
from pathlib import Path
from typing import Any

from sim.scenario import Scenario, ScenarioError

STUDY_FILE = ".study.json"
RUNS_DIR = ".runs"
OUTPUTS = ("runs.parquet", "summary.csv", "manifest.json", "effects.csv", "effects_readable.csv",
           "sensitivity.csv")


class StudyError(ScenarioError):
    """A study that cannot be run as asked (flag, folder, executor); one line for the user."""


@cache
def source_digest() -> str:
    """SHA-256 over the installed ``sim`` package's Python files (relative path and bytes)."""
    root = Path(__file__).resolve().parent.parent
    h = hashlib.sha256()
    for p in sorted(root.rglob("*.py")):
        h.update(p.relative_to(root).as_posix().encode())
        h.update(b"\0")
        h.update(p.read_bytes())
    return h.hexdigest()


def canonical(scn: Scenario) -> str:
    """The scenario as run, as canonical JSON (sorted keys): equal scenarios, equal text."""
    return json.dumps(scn.model_dump(mode="json"), sort_keys=True, ensure_ascii=False)


def scenario_hash(scn: Scenario) -> str:
    return hashlib.sha256(canonical(scn).encode()).hexdigest()


def run_key(scenario_sha: str, seed: int) -> str:
    """The key of one run: scenario as run + seed + source digest (24 hex digits)."""
    text = f"{scenario_sha}\0{seed}\0{source_digest()}"
    return hashlib.sha256(text.encode()).hexdigest()[:24]


def write_atomic(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` via a temporary sibling and a rename (never half a file)."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".partial", dir=path.parent)
    try:
        umask = os.umask(0)
        os.umask(umask)
        os.fchmod(fd, 0o666 & ~umask)  # mkstemp makes it private; a result file is not
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _jsonable(value: Any) -> Any:
    # NaN and inf are kept (Python's json reads them back); numpy scalars become Python ones
    if hasattr(value, "item"):
        return value.item()
    return value


class RunStore:
    """Finished runs of one study in ``folder``; see the module docstring for the layout."""

    def __init__(self, folder: str | Path) -> None:
        self.folder = Path(folder)
        self.runs_dir = self.folder / RUNS_DIR

    def open(self, definition: dict[str, Any], overwrite: bool = False) -> None:
        """Start or resume the study defined by ``definition`` (JSON-able).

        Raises StudyError when the folder holds a different study (unless ``overwrite``, which
        removes its runs and outputs first) or is not a folder."""
        if self.folder.exists() and not self.folder.is_dir():
            raise StudyError(f"--out {self.folder}: exists and is a file")
        study = self.folder / STUDY_FILE
        text = json.dumps(definition, sort_keys=True, ensure_ascii=False, default=str)
        if study.exists():
            old = study.read_text(encoding="utf-8")
            if old != text:
                if not overwrite:
                    raise StudyError(
                        f"--out {self.folder}: holds a different study (other scenario, design or "
                        f"seeds); choose another folder or give --overwrite to replace it"
                    )
                self.clear()
        elif overwrite:
            self.clear()
        elif self.folder.exists() and any(self.folder.iterdir()):
            raise StudyError(
                f"--out {self.folder}: is not empty and holds no study; choose another folder "
                f"or give --overwrite"
            )
        self.folder.mkdir(parents=True, exist_ok=True)
        self.runs_dir.mkdir(exist_ok=True)
        # the outputs of an earlier pass are rewritten at the end; until then there are none,
        # so a study killed now never leaves tables that look complete
        for name in OUTPUTS:
            (self.folder / name).unlink(missing_ok=True)
        if not study.exists():
            write_atomic(study, text.encode("utf-8"))

    def clear(self) -> None:
        """Remove this study's runs, logs and outputs (nothing else in the folder)."""
        shutil.rmtree(self.runs_dir, ignore_errors=True)
        shutil.rmtree(self.folder / "logs", ignore_errors=True)
        for name in (STUDY_FILE, *OUTPUTS):
            (self.folder / name).unlink(missing_ok=True)

    def finished(self) -> dict[str, dict[str, Any]]:
        """Records of the runs that finished without error, by key."""
        out: dict[str, dict[str, Any]] = {}
        if not self.runs_dir.exists():
            return out
        for p in self.runs_dir.glob("*.json"):
            rec = json.loads(p.read_text(encoding="utf-8"))
            if rec.get("status") == "ok":
                out[p.stem] = rec
        return out

    def put(self, record: dict[str, Any]) -> None:
        """Store one run's record atomically under its key."""
        clean = {k: _jsonable(v) for k, v in record.items()}
        clean["indicators"] = {k: _jsonable(v) for k, v in record.get("indicators", {}).items()}
        data = json.dumps(clean, ensure_ascii=False, allow_nan=True).encode("utf-8")
        write_atomic(self.runs_dir / f"{record['key']}.json", data)

    def logs_folder(self, point: str, seed: int) -> Path:
        return self.folder / "logs" / f"{point}-s{seed}"


def is_missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))
