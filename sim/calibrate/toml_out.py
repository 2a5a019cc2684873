"""Write the fitted scenario as TOML that keeps every comment of the input (tomlkit).

The fitted values replace the input's values in place; each changed line's comment says it was
fitted and what the value was.  A header of comments records the search (targets, achieved
values, seeds, budget, date).  A relative ``extends`` or ``calendar.holiday_file`` path is
rewritten relative to the output file, so the written scenario loads from its new folder.
"""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path
from typing import Any

from sim.batch.store import write_atomic


def _set(doc: Any, dotted: str, value: Any, note: str) -> None:
    import tomlkit
    from tomlkit.items import AoT, InlineTable

    parts = dotted.split(".")
    node: Any = doc
    for part in parts[:-1]:
        if isinstance(node, AoT | list):
            node = node[int(part)]
        elif part in node:
            node = node[part]
        else:  # a field inherited from defaults (or a parent scenario): add it here
            new = tomlkit.inline_table() if isinstance(node, InlineTable) else tomlkit.table(True)
            node[part] = new
            node = node[part]
    key = parts[-1]
    if isinstance(node, AoT | list):
        key = int(key)  # type: ignore[assignment]
        old = node[key]
    else:
        old = node.get(key)
    item = tomlkit.item(value)
    if not isinstance(node, InlineTable | list):
        previous = ""
        if old is not None and hasattr(old, "trivia"):
            previous = old.trivia.comment.lstrip("#").strip()
        was = f" (was {old})" if old is not None else ""
        item.comment(f"{note}{was}" + (f"; {previous}" if previous else ""))
    node[key] = item


def _relocate(doc: Any, source: Path, out_file: Path) -> None:
    """Relative paths of the input are relative to its folder: make them relative to ours."""
    from tomlkit.items import InlineTable, Table

    def moved(text: str) -> str:
        if Path(text).is_absolute():
            return text
        return os.path.relpath((source.parent / text).resolve(), out_file.parent.resolve())

    if isinstance(doc.get("extends"), str):
        doc["extends"] = moved(doc["extends"])
    cal = doc.get("calendar")
    if isinstance(cal, Table | InlineTable) and isinstance(cal.get("holiday_file"), str):
        cal["holiday_file"] = moved(cal["holiday_file"])


def write_scenario(out_file: Path, source: str | None, data: dict[str, Any],
                   values: dict[str, Any], header: list[str], note: str) -> None:
    """Write ``out_file``: the ``source`` file's text (every comment kept) with ``values``
    ({dotted path: value}) set, under the ``header`` comment lines.  Without a source file
    (a Scenario object given from Python), the scenario ``data`` is written without comments."""
    import tomlkit

    if source is not None:
        doc = tomlkit.parse(Path(source).read_text(encoding="utf-8"))
        _relocate(doc, Path(source), out_file)
    else:
        doc = tomlkit.document()
        for k, v in _plain(data).items():
            doc[k] = v
    for path, value in values.items():
        _set(doc, path, value, note)
    head = "".join(f"# {line}\n" if line else "#\n" for line in header)
    write_atomic(out_file, (head + "\n" + tomlkit.dumps(doc)).encode("utf-8"))


def _plain(v: Any) -> Any:
    if isinstance(v, dict):
        return {k: _plain(x) for k, x in v.items() if x is not None}
    if isinstance(v, list | tuple):
        return [_plain(x) for x in v]
    return v


def today() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
