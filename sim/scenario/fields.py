"""The schema's fields in one place: how a parameter is declared (`F`) and how it is read back.

`F` writes a field's bounds, unit, description and source; everything else reads them
through this module: `bounds`, `unit`, `source`, `doc`, `default`, the field at a dotted
key path (`field_at`, `model_at`), why a key path is not a parameter (`key_path_problem`),
and `parameters()`, the walk over every parameter with its dotted path. The reference page,
the loader's messages, calibration's parameter bounds and the dashboard's sliders all use
it, so none of them digs into pydantic's `model_fields` by itself.

The walks start from `Scenario` unless given another model. Declaring and reading one field
(`F`, `bounds`, `unit`, ...) live in `field_info.py`, below the schema, and are re-exported
here.
"""

from __future__ import annotations

import difflib
import typing
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel
from pydantic.fields import FieldInfo

from sim.scenario.field_info import (  # noqa: F401  (re-exported: one field, read back)
    F, bounds, default, doc, fields_of, is_model, lengths, list_item, nullable, source, unit, unwrap)
from sim.scenario.problems import Path_, show_path, split_path
from sim.scenario.schema import Scenario


# ---------------------------------------------------------------- key paths

def _root(model: type[BaseModel] | None) -> type[BaseModel]:
    return Scenario if model is None else model


def model_at(path: Path_, root: type[BaseModel] | None = None) -> type[BaseModel] | None:
    """The section that holds the keys under `path`, if any (list items are stepped through)."""
    ann: Any = _root(root)
    for part in path:
        ann = unwrap(ann)
        if list_item(ann) is not None:
            ann = list_item(ann)
            if isinstance(part, int):
                continue
        if not is_model(ann) or part not in ann.model_fields:
            return None
        ann = ann.model_fields[part].annotation
    ann = unwrap(ann)
    if list_item(ann) is not None:
        ann = unwrap(list_item(ann))
    return ann if is_model(ann) else None


def field_at(path: Path_, root: type[BaseModel] | None = None) -> FieldInfo | None:
    """The field at a key path (list indexes skipped), or None when the schema has none."""
    names = tuple(p for p in path if not isinstance(p, int))
    if not names:
        return None
    model = model_at(names[:-1], root)
    return None if model is None else model.model_fields.get(names[-1])


def unknown_key_message(key: Any, model: type[BaseModel]) -> str:
    """`unknown key ...; did you mean ...? allowed here: ...` for a key a section does not have."""
    allowed = list(model.model_fields)
    close = difflib.get_close_matches(str(key), allowed, n=2, cutoff=0.6)
    hint = f"did you mean {' or '.join(repr(c) for c in close)}? " if close else ""
    deeper = [f"{name}.{key}" for name, fld in model.model_fields.items()
              if is_model(unwrap(fld.annotation)) and key in unwrap(fld.annotation).model_fields]
    if deeper and not close:
        hint = f"it belongs one level down: {', '.join(deeper)}. "
    return f"unknown key {str(key)!r}; {hint}allowed here: {', '.join(allowed)}"


def key_path_problem(path: Path_, root: type[BaseModel] | None = None) -> str | None:
    """Why `path` is not a parameter of the schema, or None if it is."""
    if not path:
        return "no key given"
    ann: Any = _root(root)
    for i, part in enumerate(path):
        ann = unwrap(ann)
        here = show_path(path[:i])
        if list_item(ann) is not None:
            if not isinstance(part, int):
                return f"{here} is a list; give an item number first, e.g. {here}.0"
            ann = list_item(ann)
            continue
        if typing.get_origin(ann) is dict or ann is Any:
            return None
        if not is_model(ann):
            return f"{here} is a single value; it has no key {str(part)!r}"
        if isinstance(part, int):
            return f"{here or 'the scenario'} is a mapping of keys, not a list; found item number {part}"
        if part not in ann.model_fields:
            return unknown_key_message(part, ann)
        ann = ann.model_fields[part].annotation
    return None


def describe_range(fld: FieldInfo | None) -> str:
    """`a number from 0 to 1 (share)`: a field's allowed range in words ('' when unbounded)."""
    if fld is None:
        return ""
    lo, hi, _ = bounds(fld)
    shown_unit = f" ({unit(fld)})" if unit(fld) else ""
    if lo is not None and hi is not None:
        return f"a number from {lo:,} to {hi:,}{shown_unit}"
    if lo is not None:
        return f"a number of at least {lo:,}{shown_unit}"
    if hi is not None:
        return f"a number of at most {hi:,}{shown_unit}"
    return ""


# ---------------------------------------------------------------- the walk

@dataclass(frozen=True)
class Param:
    """One parameter (a value, not a section) with its dotted key path."""

    path: str
    field: FieldInfo
    annotation: Any

    @property
    def bounds(self) -> tuple[float | None, float | None, bool]:
        """(lower, upper, whether the lower bound is excluded)."""
        return bounds(self.field)

    @property
    def unit(self) -> str:
        """The unit ('' when none)."""
        return unit(self.field)

    @property
    def doc(self) -> str:
        """The description."""
        return doc(self.field)

    @property
    def source(self) -> str:
        """Where the default comes from."""
        return source(self.field)

    @property
    def default(self) -> Any:
        """The field's own default (a section's documented default may differ: see `default_value`)."""
        return default(self.field)


def parameters(root: type[BaseModel] | None = None, prefix: str = "") -> Iterator[Param]:
    """Every value parameter under `root`, depth first, with dotted paths (lists are not entered)."""
    for name, fld in _root(root).model_fields.items():
        key = f"{prefix}.{name}" if prefix else name
        inner = unwrap(fld.annotation)
        if is_model(inner):
            yield from parameters(inner, key)
        else:
            yield Param(key, fld, inner)


def parameter(path: str, root: type[BaseModel] | None = None) -> Param:
    """The parameter at a dotted path; KeyError (with the reason) when there is none."""
    parts = split_path(path)
    reason = key_path_problem(parts, root)
    fld = field_at(parts, root)
    if reason or fld is None:
        raise KeyError(f"{path}: {reason or 'not a parameter'}")
    return Param(path, fld, unwrap(fld.annotation))


def default_value(path: str, root: type[BaseModel] | None = None) -> Any:
    """The documented default at a dotted path, as a default scenario holds it (factories applied)."""
    value: Any = _root(root)()
    for part in split_path(path):
        value = value[part] if isinstance(part, int) else getattr(value, part)
    return value


def description(path: str, root: type[BaseModel] | None = None) -> str:
    """The schema's description of a dotted key path, section or value ('' when there is none)."""
    fld = field_at(split_path(path), root) if not key_path_problem(split_path(path), root) else None
    return doc(fld) if fld is not None else ""
