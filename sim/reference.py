"""The scenario field reference, generated from the schema (``hotline schema``).

docs/scenario-reference.md is this text; a test keeps it current.
"""

from __future__ import annotations

import types
import typing
from typing import Any

from pydantic import BaseModel
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

from sim.scenario import Scenario


def _type_name(ann: Any) -> str:
    origin = typing.get_origin(ann)
    if origin is typing.Annotated:
        return _type_name(typing.get_args(ann)[0])
    if origin in (typing.Union, types.UnionType):
        return " | ".join(_type_name(a) for a in typing.get_args(ann))
    if ann is type(None):
        return "None"
    if origin is typing.Literal:
        return " | ".join(repr(a) for a in typing.get_args(ann))
    if origin in (list, tuple, dict):
        args = ", ".join(_type_name(a) for a in typing.get_args(ann) if a is not Ellipsis)
        return f"{origin.__name__}[{args}]"
    if isinstance(ann, type):
        return ann.__name__
    return str(ann).replace("typing.", "")


def _bounds(info: FieldInfo) -> str:
    out = []
    metadata = list(info.metadata)
    for arg in typing.get_args(info.annotation):  # an optional bounded value: X | None
        if typing.get_origin(arg) is typing.Annotated:
            for m in typing.get_args(arg)[1:]:
                metadata.extend(getattr(m, "metadata", [m]))
    for m in metadata:
        for attr, sym in (("ge", ">="), ("gt", ">"), ("le", "<="), ("lt", "<")):
            v = getattr(m, attr, None)
            if v is not None:
                out.append(f"{sym} {v}")
    return ", ".join(out)


def _default(info: FieldInfo) -> str:
    if info.default is not PydanticUndefined:
        d = info.default
        return "" if d is None else f"`{d!r}`" if not isinstance(d, BaseModel) else "(table)"
    if info.default_factory is not None:
        return "(table)"
    return "**required**"


def _walk(model: type[BaseModel], prefix: str, rows: list[tuple[str, str, str, str, str]]) -> None:
    for name, info in model.model_fields.items():
        path = f"{prefix}{name}"
        ann = info.annotation
        inner = ann
        origin = typing.get_origin(ann)
        if origin is list and typing.get_args(ann):
            inner = typing.get_args(ann)[0]
            path_child = f"{path}.<i>."
        else:
            path_child = f"{path}."
        if isinstance(inner, type) and issubclass(inner, BaseModel):
            doc = (info.description or (inner.__doc__ or "").strip().splitlines()[0]) if (info.description or inner.__doc__) else ""
            rows.append((path, "list of tables" if inner is not ann else "table", "", _default(info), doc))
            _walk(inner, path_child, rows)
            continue
        rows.append((path, _type_name(ann), _bounds(info), _default(info), info.description or ""))


def reference_markdown() -> str:
    rows: list[tuple[str, str, str, str, str]] = []
    _walk(Scenario, "", rows)
    lines = [
        "# Scenario reference",
        "",
        "Generated from the schema by `hotline schema` (do not edit by hand).",
        "Any field can be overridden by its dotted path: `--set handling.scale=1.2`,",
        "or `sim.load_scenario(path, overrides={\"handling.scale\": 1.2})`; list items by index",
        "(`units.0.handlers`).",
        "",
        "A scenario file may begin with `extends = \"yuelu_2021.toml\"` (a path relative to the",
        "file): the base scenario is loaded and this file's tables are merged over it, key by key;",
        "arrays, `[[units]]` and `[[topics]]` included, replace the base's whole.  A run folder saves",
        "the merged scenario, which has no `extends` (docs/design.md, \"Demand\").",
        "",
        "| field | type | allowed | default | meaning |",
        "| --- | --- | --- | --- | --- |",
    ]
    for path, typ, bounds, default, doc in rows:
        doc = " ".join(doc.split()).replace("|", "\\|")
        typ = typ.replace("|", "\\|")
        lines.append(f"| `{path}` | {typ} | {bounds} | {default} | {doc} |")
    return "\n".join(lines) + "\n"
