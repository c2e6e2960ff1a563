"""The schema's fields in one place: how a parameter is declared (`F`) and how it is read back.

`F` writes a field's bounds, unit, description and source; everything else reads them
through this module: `bounds`, `unit`, `source`, `doc`, `default`, the field at a dotted
key path (`field_at`, `model_at`), why a key path is not a parameter (`key_path_problem`),
and `parameters()`, the walk over every parameter with its dotted path. The reference page,
the loader's messages, calibration's parameter bounds and the dashboard's sliders all use
it, so none of them digs into pydantic's `model_fields` by itself.

Only pydantic and `problems` are imported here (the schema's sections import `F` from this
module); the walks start from `Scenario` unless given another model.
"""

from __future__ import annotations

import difflib
import types
import typing
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, Field
from pydantic.fields import FieldInfo

from sim.scenario.problems import Path_, show_path


# ---------------------------------------------------------------- declaring

def F(default: Any, lo: float | None = None, hi: float | None = None, *, unit: str = "",
      doc: str = "", source: str = "", gt: float | None = None) -> Any:
    """A field with bounds, a unit and a source, all shown in the reference page."""
    extra = {"unit": unit, "source": source}
    kwargs: dict[str, Any] = {"description": doc, "json_schema_extra": extra}
    if lo is not None:
        kwargs["ge"] = lo
    if gt is not None:
        kwargs["gt"] = gt
    if hi is not None:
        kwargs["le"] = hi
    return Field(default, **kwargs)


# ---------------------------------------------------------------- reading one field

def bounds(fld: FieldInfo) -> tuple[float | None, float | None, bool]:
    """A field's numeric bounds: (lower, upper, whether the lower bound is excluded)."""
    lo = hi = None
    strict_lo = False
    for meta in fld.metadata:
        if getattr(meta, "ge", None) is not None:
            lo = meta.ge
        if getattr(meta, "gt", None) is not None:
            lo, strict_lo = meta.gt, True
        if getattr(meta, "le", None) is not None:
            hi = meta.le
    return lo, hi, strict_lo


def lengths(fld: FieldInfo) -> tuple[int | None, int | None]:
    """A list field's least and most number of items (None: no limit)."""
    least = most = None
    for meta in fld.metadata:
        if getattr(meta, "min_length", None) is not None:
            least = meta.min_length
        if getattr(meta, "max_length", None) is not None:
            most = meta.max_length
    return least, most


def _extra(fld: FieldInfo, key: str) -> str:
    extra = fld.json_schema_extra
    return str(extra.get(key, "") or "") if isinstance(extra, dict) else ""


def unit(fld: FieldInfo) -> str:
    """A field's unit ('' when it has none)."""
    return _extra(fld, "unit")


def source(fld: FieldInfo) -> str:
    """Where a field's default comes from ('' when not stated)."""
    return _extra(fld, "source")


def doc(fld: FieldInfo) -> str:
    """A field's description ('' when it has none)."""
    return fld.description or ""


def default(fld: FieldInfo) -> Any:
    """A field's default value (factories called)."""
    return fld.get_default(call_default_factory=True)


def unwrap(annotation: Any) -> Any:
    """`X | None` -> X (other annotations unchanged)."""
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        return args[0] if len(args) == 1 else annotation
    return annotation


def nullable(annotation: Any) -> bool:
    """Whether `null` is allowed."""
    return type(None) in typing.get_args(annotation)


def is_model(annotation: Any) -> bool:
    """Whether an annotation is a schema section (a pydantic model)."""
    return isinstance(annotation, type) and issubclass(annotation, BaseModel)


def list_item(annotation: Any) -> Any:
    """The item type of `list[X]` (None when not a list)."""
    return typing.get_args(annotation)[0] if typing.get_origin(annotation) is list else None


def fields_of(model: type[BaseModel]) -> dict[str, FieldInfo]:
    """A section's fields by name, in declaration order."""
    return model.model_fields


# ---------------------------------------------------------------- key paths

def _root(model: type[BaseModel] | None) -> type[BaseModel]:
    if model is not None:
        return model
    from sim.scenario.schema import Scenario  # here: the schema's sections import this module
    return Scenario


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
    from sim.scenario.overrides import split_path  # here: overrides imports this module

    parts = split_path(path)
    reason = key_path_problem(parts, root)
    fld = field_at(parts, root)
    if reason or fld is None:
        raise KeyError(f"{path}: {reason or 'not a parameter'}")
    return Param(path, fld, unwrap(fld.annotation))


def default_value(path: str, root: type[BaseModel] | None = None) -> Any:
    """The documented default at a dotted path, as a default scenario holds it (factories applied)."""
    from sim.scenario.overrides import split_path

    value: Any = _root(root)()
    for part in split_path(path):
        value = value[part] if isinstance(part, int) else getattr(value, part)
    return value


def description(path: str, root: type[BaseModel] | None = None) -> str:
    """The schema's description of a dotted key path, section or value ('' when there is none)."""
    from sim.scenario.overrides import split_path

    fld = field_at(split_path(path), root) if not key_path_problem(split_path(path), root) else None
    return doc(fld) if fld is not None else ""
