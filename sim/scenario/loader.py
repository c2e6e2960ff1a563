"""Loading a scenario: YAML with line numbers, `extends:`, `--set` overrides, dated changes.

Everything is validated before anything runs. Every problem is reported at once as a
`ScenarioError` naming file, line, key path, what was found and what is allowed; it is
the only exception `load` raises. Only safe YAML is read (plain values, lists and
mappings); file size, aliases, nesting depth and the number of values are capped.
"""

from __future__ import annotations

import copy
import difflib
import functools
import types
import typing
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

# Re-exported for callers: the loader's errors, the YAML reader's limits, and Timeline.
from sim.scenario.problems import COMMAND_LINE, Path_, Problem, ScenarioError, Where, show_path, shown  # noqa: F401
from sim.scenario.schema import FIXED_AT_START, Change, Scenario, Timeline, bounds  # noqa: F401
from sim.scenario.yaml_safe import MAX_ALIASES, MAX_BYTES, load_yaml, parse_value  # noqa: F401

MAX_EXTENDS_DEPTH = 10
# Parameters read only when the model is built (the day-0 state): a dated change to them
# would do nothing, so it is refused with the lever to use instead.
READ_AT_START = {
    ("signing", "initial_rate"): "signing.target_rate with signing.ramp_days",
    ("behaviour", "chronic_in_care_share"): "a signing campaign (signing.target_rate): signing brings "
                                            "chronic patients into care",
    ("behaviour", "trust", "initial_sd"): "providers.quality (trust then follows experience)",
    ("insurance", "initial_fund_balance"): "nothing: it is the reserve on day 0 (premiums and spending change it)",
}


# ----------------------------------------------------------------- composition

def _merge(base: dict, base_lines: dict, child: dict, child_lines: dict, prefix: Path_ = ()) -> None:
    """Deep-merge child into base in place; `changes` lists accumulate."""
    for key, value in child.items():
        path = prefix + (key,)
        if prefix == () and key == "changes" and isinstance(base.get(key), list) and isinstance(value, list):
            offset = len(base[key])
            base[key] = base[key] + value
            for p, where in child_lines.items():
                if p[:1] == ("changes",) and len(p) > 1 and isinstance(p[1], int):
                    base_lines[("changes", p[1] + offset) + p[2:]] = where
            continue
        if isinstance(value, dict) and isinstance(base.get(key), dict):
            base_lines[path] = child_lines.get(path, base_lines.get(path))
            _merge(base[key], base_lines, value, child_lines, path)
            continue
        for p in [p for p in base_lines if p[:len(path)] == path]:
            del base_lines[p]
        base[key] = value
        for p, where in child_lines.items():
            if p[:len(path)] == path:
                base_lines[p] = where


def _resolved(path: Path) -> Path:
    try:
        return path.resolve()
    except (OSError, ValueError, RuntimeError):
        return path


def _is_file(path: Path) -> bool:
    try:
        return path.is_file()
    except (OSError, ValueError):
        return False


def _load_with_extends(path: Path, stack: tuple[Path, ...] = (),
                       named_at: Where | None = None) -> tuple[dict, dict, list[str]]:
    """Load a file and the chain of files it extends, merged (the child wins)."""
    key = _resolved(path)
    if key in stack:
        chain = " -> ".join(p.name for p in stack + (key,))
        file, line = named_at or (str(path), None)
        raise ScenarioError([Problem(file, line, "extends", f"files extend each other in a loop ({chain}); "
                                                            "allowed: a chain that ends in a file without extends")])
    if len(stack) >= MAX_EXTENDS_DEPTH:
        file, line = named_at or (str(path), None)
        raise ScenarioError([Problem(file, line, "extends", f"more than {MAX_EXTENDS_DEPTH} levels of extends")])
    data, lines = load_yaml(path)
    if not isinstance(data, dict):
        raise ScenarioError([Problem(str(path), 1, "", f"found {type(data).__name__}; allowed: a mapping of keys "
                                                       "(name:, world:, insurance: ...)")])
    if "extends" not in data:
        return data, lines, [str(path)]
    parent = data.pop("extends")
    where = lines.get(("extends",), (str(path), None))
    if not isinstance(parent, str) or not parent.strip():
        raise ScenarioError([Problem(*where, "extends", f"found {shown(parent)}; allowed: the path of another "
                                                         "scenario file, relative to this one")])
    parent_path = path.parent / parent
    if not _is_file(parent_path):
        raise ScenarioError([Problem(*where, "extends", f"file {parent!r} not found (looked for "
                                                         f"{_resolved(parent_path)}); allowed: the path of another "
                                                         "scenario file, relative to this one")])
    base, base_lines, sources = _load_with_extends(parent_path, stack + (key,), where)
    _merge(base, base_lines, data, lines)
    return base, base_lines, sources + [str(path)]


def parse_override(text: str) -> tuple[Path_, Any]:
    """Parse `a.b.c=value` (value read as YAML: numbers, true/false, null, text)."""
    key, eq, raw = text.partition("=")
    if not eq or not key.strip():
        raise ScenarioError([Problem(COMMAND_LINE, None, f"--set {text}",
                                     f"found {text!r}; allowed: key.path=value, "
                                     "e.g. --set insurance.resident.outpatient.tertiary.rate=0")])
    return split_path(key.strip()), parse_value(raw)


def split_path(key: str) -> Path_:
    """Split `world.tertiary.0.distance_km` into its parts (digits become list indexes)."""
    return tuple(int(p) if p.isdigit() else p for p in key.split("."))


class _NoSuchPath(Exception):
    """A key path that the schema knows but this scenario's data cannot hold (e.g. a missing list item)."""


def _set_path(data: Any, path: Path_, value: Any) -> None:
    target = data
    for i, part in enumerate(path):
        last = i == len(path) - 1
        if isinstance(target, dict) and isinstance(part, str):
            if last:
                if isinstance(value, dict) and isinstance(target.get(part), dict):
                    _merge(target[part], {}, value, {})
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
            raise _NoSuchPath(f"found item number {part}; {show_path(path[:i])} has {len(target)} item(s), "
                              f"numbered from 0")
        else:
            raise _NoSuchPath(f"{show_path(path[:i])} is {shown(target)} here, not a mapping of keys")


# ------------------------------------------------------------------ validation

def _unwrap(annotation: Any) -> Any:
    """`X | None` -> X."""
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        return args[0] if len(args) == 1 else annotation
    return annotation


def _is_model(annotation: Any) -> bool:
    return isinstance(annotation, type) and issubclass(annotation, BaseModel)


def _model_at(path: Path_) -> type[BaseModel] | None:
    """The schema model that holds the keys under `path`, if any."""
    ann: Any = Scenario
    for part in path:
        ann = _unwrap(ann)
        if typing.get_origin(ann) is list:
            ann = typing.get_args(ann)[0]
            if isinstance(part, int):
                continue
        if not _is_model(ann) or part not in ann.model_fields:
            return None
        ann = ann.model_fields[part].annotation
    ann = _unwrap(ann)
    if typing.get_origin(ann) is list:
        ann = _unwrap(typing.get_args(ann)[0])
    return ann if _is_model(ann) else None


def _field_at(path: Path_):
    names = tuple(p for p in path if not isinstance(p, int))
    if not names:
        return None
    model = _model_at(names[:-1])
    return None if model is None else model.model_fields.get(names[-1])


def check_key_path(path: Path_) -> str | None:
    """Why `path` is not a parameter of the schema, or None if it is."""
    if not path:
        return "no key given"
    ann: Any = Scenario
    for i, part in enumerate(path):
        ann = _unwrap(ann)
        here = show_path(path[:i])
        if typing.get_origin(ann) is list:
            if not isinstance(part, int):
                return f"{here} is a list; give an item number first, e.g. {here}.0"
            ann = typing.get_args(ann)[0]
            continue
        if typing.get_origin(ann) is dict or ann is Any:
            return None
        if not _is_model(ann):
            return f"{here} is a single value; it has no key {str(part)!r}"
        if isinstance(part, int):
            return f"{here or 'the scenario'} is a mapping of keys, not a list; found item number {part}"
        if part not in ann.model_fields:
            return _unknown_key_message(part, ann)
        ann = ann.model_fields[part].annotation
    return None


def _unknown_key_message(key: Any, model: type[BaseModel]) -> str:
    allowed = list(model.model_fields)
    close = difflib.get_close_matches(str(key), allowed, n=2, cutoff=0.6)
    hint = f"did you mean {' or '.join(repr(c) for c in close)}? " if close else ""
    deeper = [f"{name}.{key}" for name, fld in model.model_fields.items()
              if _is_model(_unwrap(fld.annotation)) and key in _unwrap(fld.annotation).model_fields]
    if deeper and not close:
        hint = f"it belongs one level down: {', '.join(deeper)}. "
    return f"unknown key {str(key)!r}; {hint}allowed here: {', '.join(allowed)}"


def _describe_allowed(path: Path_) -> str:
    fld = _field_at(path)
    if fld is None:
        return ""
    lo, hi, _ = bounds(fld)
    unit = (fld.json_schema_extra or {}).get("unit", "") if isinstance(fld.json_schema_extra, dict) else ""
    unit = f" ({unit})" if unit else ""
    if lo is not None and hi is not None:
        return f"a number from {lo:,} to {hi:,}{unit}"
    if lo is not None:
        return f"a number of at least {lo:,}{unit}"
    if hi is not None:
        return f"a number of at most {hi:,}{unit}"
    return ""


_TYPE_WORDS = {
    "float_type": "a number", "int_type": "a whole number", "bool_type": "true or false",
    "string_type": "text", "model_type": "a mapping of keys", "dict_type": "a mapping of keys",
    "list_type": "a list", "finite_number": "a finite number", "int_from_float": "a whole number",
    "model_attributes_type": "a mapping of keys", "none_required": "null",
}


def _message(err: dict, path: Path_) -> str:
    kind = err["type"]
    found = err.get("input")
    if kind == "extra_forbidden":
        model = _model_at(path[:-1])
        return _unknown_key_message(path[-1], model) if model else f"unknown key {str(path[-1])!r}"
    if kind == "missing":
        return "required key is missing"
    if kind in ("greater_than_equal", "less_than_equal", "greater_than", "less_than"):
        return f"found {shown(found)}; allowed: {_describe_allowed(path) or err['msg'].lower()}"
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


def _locate(path: Path_, lines: dict[Path_, Where], default: Where) -> Where:
    for n in range(len(path), -1, -1):
        if path[:n] in lines:
            return lines[path[:n]]
    return default


def _validate(data: dict, lines: dict[Path_, Where], default: Where,
              rename: tuple[Path_, str] | None = None) -> tuple[Scenario | None, list[Problem]]:
    try:
        return Scenario.model_validate(data), []
    except ValidationError as exc:
        problems = []
        for err in exc.errors(include_url=False):
            path = tuple(err["loc"])
            file, line = _locate(path, lines, default)
            shown_path = show_path(path)
            if rename and path[:len(rename[0])] == rename[0]:
                rest = path[len(rename[0]):]
                dot = "." if rest and not isinstance(rest[0], int) else ""
                shown_path = rename[1] + dot + show_path(rest)
            problems.append(Problem(file, line, shown_path, _message(err, path)))
        return None, problems


def load(path: str | Path, overrides: list[str] | tuple[str, ...] = (), *, days: int | None = None,
         seed: int | None = None) -> Timeline:
    """Load, compose and validate a scenario file; raise ScenarioError listing every problem."""
    path = Path(path)
    data, lines, sources = _load_with_extends(path)
    data = over_defaults(data)
    problems: list[Problem] = []
    applied = list(overrides)
    if days is not None:
        applied.append(f"days={days}")
    if seed is not None:
        applied.append(f"seed={seed}")
    for text in applied:
        try:
            key, value = parse_override(text)
        except ScenarioError as err:
            problems += err.problems
            continue
        reason = check_key_path(key)
        if reason:
            problems.append(Problem(COMMAND_LINE, None, f"--set {text}", reason))
            continue
        try:
            _set_path(data, key, value)
        except _NoSuchPath as exc:
            problems.append(Problem(COMMAND_LINE, None, f"--set {text}", str(exc)))
            continue
        for p in [p for p in lines if p[:len(key)] == key]:
            del lines[p]
        lines[key] = (f"{COMMAND_LINE} (--set {text})", None)
    problems += _resolve_world_files(data, lines)
    raw_changes = data.pop("changes", [])
    top = (sources[-1], None)
    base, base_problems = _validate(data, lines, top)
    problems += base_problems
    if base is not None and base.world.files is not None and not any(
            p.path.startswith("world.files") for p in problems):
        from sim.county.csv_county import check_world_files  # here: it loads numpy and networkx, which a synthetic county's check does not need
        problems += check_world_files(base.world)
    changes = _check_changes(raw_changes, data, lines, base, top, problems)
    if problems:
        order = {name: i for i, name in enumerate(reversed(sources))}
        problems.sort(key=lambda p: (order.get(p.file, -1), p.line or 0))  # the command line first, then by line
        raise ScenarioError(problems)
    assert base is not None
    base = base.model_copy(update={"changes": [c for c, _ in changes]})
    timeline = Timeline(base=base, sources=sources, overrides=applied)
    timeline.changes = _one_per_day(changes)
    return timeline


@functools.cache
def _default_data() -> dict[str, Any]:
    return Scenario().model_dump()


def over_defaults(data: dict[str, Any]) -> dict[str, Any]:
    """A scenario's data merged over the full default scenario.

    A section given in part keeps the defaults of every key it does not name. Without
    this, `insurance: {resident: {outpatient: {tertiary: {rate: 0.3}}}}` would rebuild the
    resident scheme from the bare field defaults (every rate 0.5) instead of the documented
    defaults, which come from factories; the same holds for the medical community's gains.
    """
    full = copy.deepcopy(_default_data())
    _merge(full, {}, data, {})
    return full


def _one_per_day(changes: list[tuple[Change, Scenario]]) -> list[tuple[int, str, Scenario]]:
    """Changes on the same day act as one (the later one's parameters include the earlier's)."""
    out: list[tuple[int, str, Scenario]] = []
    for change, scenario in changes:
        if out and out[-1][0] == change.day:
            label = "; ".join(x for x in (out[-1][1], change.label) if x)
            out[-1] = (change.day, label, scenario)
        else:
            out.append((change.day, change.label, scenario))
    return out


def _resolve_world_files(data: dict, lines: dict[Path_, Where]) -> list[Problem]:
    """Make `world.files` paths absolute, relative to the file that names them; report missing ones."""
    files = data.get("world", {}).get("files") if isinstance(data.get("world"), dict) else None
    if not isinstance(files, dict):
        return []
    problems = []
    for key, value in files.items():
        if not isinstance(value, str):
            continue
        path = ("world", "files", key)
        file, line = _locate(path, lines, ("", None))
        base = Path.cwd() if file.startswith(COMMAND_LINE) or not file else Path(file).parent
        resolved = _resolved(base / value)
        if not _is_file(resolved):
            problems.append(Problem(file or COMMAND_LINE, line, show_path(path),
                                    f"file {value!r} not found (looked for {resolved})"))
        files[key] = str(resolved)
    return problems


def _value_at(scenario: Scenario, path: Path_) -> Any:
    value: Any = scenario
    for part in path:
        value = getattr(value, str(part))
    return value


def _check_changes(raw: Any, data: dict, lines: dict, base: Scenario | None, top: Where,
                   problems: list[Problem]) -> list[tuple[Change, Scenario]]:
    """Validate dated changes in day order; each applies on top of the ones before it."""
    if not isinstance(raw, list):
        file, line = _locate(("changes",), lines, top)
        problems.append(Problem(file, line, "changes", f"found {shown(raw)}; allowed: a list of dated changes"))
        return []
    out = []
    current = copy.deepcopy(data)
    current_scenario = base
    days = base.days if base else data.get("days")
    days = days if type(days) is int and days > 0 else None  # bool is not a number of days
    order = sorted(range(len(raw)), key=lambda i: raw[i]["day"] if isinstance(raw[i], dict)
                   and type(raw[i].get("day")) is int else 0)
    for i in order:
        entry = raw[i]
        where = _locate(("changes", i), lines, top)
        try:
            change = Change.model_validate(entry)
        except ValidationError as exc:
            for err in exc.errors(include_url=False):
                path = ("changes", i) + tuple(err["loc"])
                file, line = _locate(path, lines, where)
                problems.append(Problem(file, line, show_path(path), _message(err, ("changes",) + tuple(err["loc"]))))
            continue
        if days is not None and change.day >= days:
            file, line = _locate(("changes", i, "day"), lines, where)
            problems.append(Problem(file, line, f"changes[{i}].day",
                                    f"found day {change.day}, after the run ends; allowed: 0 to {days - 1} "
                                    f"(days: {days}; lengthen the run or move the change)"))
            continue
        ok = True
        for key, value in change.set.items():
            key_path = split_path(str(key))
            file, line = _locate(("changes", i, "set", key), lines, where)
            shown_key = f"changes[{i}].set.{key}"
            if key_path[0] in FIXED_AT_START:
                problems.append(Problem(file, line, shown_key, f"{key_path[0]!r} is fixed when the run starts; allowed "
                                                               "in changes: behaviour, providers, insurance, referral, "
                                                               "signing, medical_community"))
                ok = False
                continue
            reason = check_key_path(key_path)
            if reason:
                problems.append(Problem(file, line, shown_key, reason))
                ok = False
                continue
            if current_scenario is None:
                continue  # the base is invalid: its errors are reported already
            trial = copy.deepcopy(current)
            try:
                _set_path(trial, key_path, copy.deepcopy(value))
            except _NoSuchPath as exc:
                problems.append(Problem(file, line, shown_key, str(exc)))
                ok = False
                continue
            scenario, errs = _validate(trial, {}, (file, line), rename=(key_path, shown_key))
            problems.extend(Problem(file, line, err.path, err.message) for err in errs)
            if scenario is None:
                ok = False
                continue
            for fixed, instead in READ_AT_START.items():
                if _value_at(scenario, fixed) != _value_at(current_scenario, fixed):
                    problems.append(Problem(file, line, shown_key,
                                            f"{'.'.join(fixed)} sets the state on day 0 and is read only when the "
                                            f"run starts; to change it from day {change.day} use {instead}"))
                    ok = False
            if ok:
                current, current_scenario = trial, scenario
        if ok and current_scenario is not None:
            out.append((change, current_scenario))
    return out
