"""Setting parameters by dotted key path: the one way for `--set`, dated changes, studies and tests.

    with_overrides(scenario, {"insurance.resident.outpatient.tertiary.rate": 0.3})

returns a new, validated scenario (or timeline, or plain scenario data) with those values
set; whatever is wrong is raised as one `ScenarioError` listing every problem with the
same located messages as a scenario file's (`unknown key ...; did you mean ...`,
`found 1.5; allowed: a number from 0 to 1 (share)`). Key paths are split by `split_path`
(`world.tertiary.0.distance_km`: digits are list items) and `key=value` text is read by
`parse_override`, as on the command line.
"""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Mapping
from typing import Any, TypeVar

from sim.scenario.fields import key_path_problem
from sim.scenario.messages import validate
from sim.scenario.problems import (  # noqa: F401  (split_path re-exported)
    COMMAND_LINE, Path_, Problem, ScenarioError, show_path, shown, split_path)
from sim.scenario.schema import Timeline
from sim.scenario.yaml_safe import parse_value

T = TypeVar("T")


def parse_override(text: str) -> tuple[Path_, Any]:
    """Parse `a.b.c=value` (value read as YAML: numbers, true/false, null, text)."""
    key, eq, raw = text.partition("=")
    if not eq or not key.strip():
        raise ScenarioError([Problem(COMMAND_LINE, None, f"--set {text}",
                                     f"found {text!r}; allowed: key.path=value, "
                                     "e.g. --set insurance.resident.outpatient.tertiary.rate=0")])
    return split_path(key.strip()), parse_value(raw)


class NoSuchPath(Exception):
    """A key path that the schema knows but this scenario's data cannot hold (e.g. a missing list item)."""


def _merge_into(base: dict, over: dict) -> None:
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(base.get(key), dict):
            _merge_into(base[key], value)
        else:
            base[key] = value


def set_in(data: Any, path: Path_, value: Any) -> None:
    """Set `path` in plain scenario data, in place (a mapping value is merged into a mapping).

    Missing mappings on the way are created (partial data stays partial); a list item that
    is not there raises `NoSuchPath` with the reason.
    """
    target = data
    for i, part in enumerate(path):
        last = i == len(path) - 1
        if isinstance(target, dict) and isinstance(part, str):
            if last:
                if isinstance(value, dict) and isinstance(target.get(part), dict):
                    _merge_into(target[part], value)
                else:
                    target[part] = value
                return
            target = target.setdefault(part, {})
        elif isinstance(target, list) and isinstance(part, int) and part < len(target):
            if last:
                target[part] = value
                return
            target = target[part]
        elif isinstance(target, list):
            raise NoSuchPath(f"found item number {part}; {show_path(path[:i])} has {len(target)} item(s), "
                             f"numbered from 0")
        else:
            raise NoSuchPath(f"{show_path(path[:i])} is {shown(target)} here, not a mapping of keys")


def apply_override(data: dict, path: Path_, value: Any) -> str | None:
    """Set one parameter in plain data after checking its key path; the reason it cannot be set, or None."""
    reason = key_path_problem(path)
    if reason:
        return reason
    try:
        set_in(data, path, value)
    except NoSuchPath as exc:
        return str(exc)
    return None


def _as_path(key: str | Path_) -> Path_:
    return split_path(key) if isinstance(key, str) else tuple(key)


def _text(key: str | Path_) -> str:
    return key if isinstance(key, str) else ".".join(str(p) for p in key)


def _yaml_text(value: Any) -> str:
    """A value as `--set` would spell it (true/false, null), so a timeline's overrides read back."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return "null" if value is None else str(value)


def with_overrides(scenario: T, settings: Mapping[str | Path_, Any], *, where: str = "overrides") -> T:
    """A copy of `scenario` with each dotted key path set to its value, validated.

    `scenario` is a `Scenario`, a `Timeline` (its base and every dated change's parameters
    get the settings, so a lever stays where it was put) or plain scenario data (a dict,
    full or partial: the result is the new dict, checked to be a valid scenario). The input
    is never changed. Problems are raised together as `ScenarioError`, located at `where`
    and the key path as given.
    """
    if isinstance(scenario, Timeline):
        base = with_overrides(scenario.base, settings, where=where)
        changes = [(day, label, with_overrides(params, settings, where=where))
                   for day, label, params in scenario.changes]
        texts = [f"{_text(k)}={_yaml_text(v)}" for k, v in settings.items()]
        return dataclasses.replace(scenario, base=base, changes=changes, sources=list(scenario.sources),
                                   overrides=[*scenario.overrides, *texts])
    data = copy.deepcopy(scenario) if isinstance(scenario, dict) else scenario.model_dump()
    problems = []
    for key, value in settings.items():
        reason = apply_override(data, _as_path(key), copy.deepcopy(value))
        if reason:
            problems.append(Problem(where, None, _text(key), reason))
    validated, invalid = validate(data, {}, (where, None))  # the keys that could be set, checked too
    if problems or invalid:
        raise ScenarioError(problems + invalid)
    return data if isinstance(scenario, dict) else validated  # type: ignore[return-value]
