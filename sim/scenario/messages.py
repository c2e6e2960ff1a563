"""Validating scenario data and saying what is wrong in a planner's words, located.

`validate` turns pydantic's errors into `Problem`s (file, line, key path, what was found and
what is allowed); the loader, dated changes and `with_overrides` all report through it.
"""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from sim.scenario.fields import describe_range, field_at, model_at, unknown_key_message
from sim.scenario.problems import Path_, Problem, Where, show_path, shown
from sim.scenario.schema import Scenario

_TYPE_WORDS = {
    "float_type": "a number", "int_type": "a whole number", "bool_type": "true or false",
    "string_type": "text", "model_type": "a mapping of keys", "dict_type": "a mapping of keys",
    "list_type": "a list", "finite_number": "a finite number", "int_from_float": "a whole number",
    "model_attributes_type": "a mapping of keys", "none_required": "null",
}


def message(err: dict, path: Path_) -> str:
    """One pydantic error at `path` in words: what was found and what is allowed."""
    kind = err["type"]
    found = err.get("input")
    if kind == "extra_forbidden":
        model = model_at(path[:-1])
        return unknown_key_message(path[-1], model) if model else f"unknown key {str(path[-1])!r}"
    if kind == "missing":
        return "required key is missing"
    if kind in ("greater_than_equal", "less_than_equal", "greater_than", "less_than"):
        return f"found {shown(found)}; allowed: {describe_range(field_at(path)) or err['msg'].lower()}"
    if kind in _TYPE_WORDS:
        return f"found {shown(found)} ({type(found).__name__}); allowed: {_TYPE_WORDS[kind]}"
    if kind == "literal_error":
        return f"found {shown(found)}; allowed: {err['ctx']['expected']}"
    if kind == "too_short":
        ctx = err.get("ctx", {})
        return f"found {ctx.get('actual_length', '?')} item(s); allowed: at least {ctx.get('min_length', 1)}"
    if kind == "too_long":
        ctx = err.get("ctx", {})
        return f"found {ctx.get('actual_length', '?')} items; allowed: at most {ctx.get('max_length', '?')}"
    if kind == "value_error":
        return str(err["msg"]).removeprefix("Value error, ")
    return f"found {shown(found)}; {err['msg']}"


def locate(path: Path_, lines: dict[Path_, Where], default: Where) -> Where:
    """Where a key path was written: its own line, else its nearest parent's, else `default`."""
    for n in range(len(path), -1, -1):
        if path[:n] in lines:
            return lines[path[:n]]
    return default


def validate(data: dict, lines: dict[Path_, Where], default: Where,
             rename: tuple[Path_, str] | None = None) -> tuple[Scenario | None, list[Problem]]:
    """The validated scenario, or None and every problem located (`rename` shows a key path as written)."""
    try:
        return Scenario.model_validate(data), []
    except ValidationError as exc:
        problems = []
        for err in exc.errors(include_url=False):
            path = tuple(err["loc"])
            if path[-1:] == ("[key]",):  # a mapping's key that is not allowed: the key is the path
                path = path[:-1]
            file, line = locate(path, lines, default)
            shown_path = show_path(path)
            if rename and path[:len(rename[0])] == rename[0]:
                rest = path[len(rename[0]):]
                dot = "." if rest and not isinstance(rest[0], int) else ""
                shown_path = rename[1] + dot + show_path(rest)
            problems.append(Problem(file, line, shown_path, message(err, path)))
        return None, problems


def value_at(obj: Any, path: Path_) -> Any:
    """The value at a key path of a scenario (attributes) or of plain data (keys and indexes)."""
    value = obj
    for part in path:
        value = value[part] if isinstance(value, (dict, list)) else getattr(value, str(part))
    return value
