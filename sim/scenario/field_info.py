"""One schema field: how a parameter is declared (`F`) and how its declaration is read back.

The bottom of the schema: the sections import `F` from here. Walking the schema by dotted
key path is `fields.py`, which re-exports everything here; use that one from other code.
"""

from __future__ import annotations

import types
import typing
from typing import Any

from pydantic import BaseModel, Field
from pydantic.fields import FieldInfo


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
