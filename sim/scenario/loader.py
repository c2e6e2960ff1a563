"""Loading a scenario: YAML with line numbers, `extends:`, `--set` overrides, dated changes.

Everything is validated before anything runs. Every problem is reported at once as a
`ScenarioError` naming file, line, key path, what was found and what is allowed; it is
the only exception `load` raises. Only safe YAML is read (plain values, lists and
mappings); file size, aliases, nesting depth and the number of values are capped.
"""

from __future__ import annotations

import copy
import functools
from pathlib import Path
from typing import Any

from pydantic import ValidationError

# Re-exported for callers: the loader's errors, the YAML reader's limits, key paths, and Timeline.
from sim.scenario.fields import key_path_problem as check_key_path  # noqa: F401
from sim.scenario.messages import locate as _locate, message as _message, validate as _validate, value_at
from sim.scenario.overrides import (  # noqa: F401
    NoSuchPath, apply_override, parse_override, set_in, split_path, with_overrides)
from sim.scenario.problems import COMMAND_LINE, Path_, Problem, ScenarioError, Where, show_path, shown  # noqa: F401
from sim.scenario.schema import FIXED_AT_START, Change, Scenario, Timeline, bounds  # noqa: F401
from sim.scenario.yaml_safe import MAX_ALIASES, MAX_BYTES, load_yaml, parse_value  # noqa: F401

MAX_EXTENDS_DEPTH = 10
EMPTY_FILE = ("the file is empty: start it with `extends: baseline.yaml` (or another scenario, relative to this "
              "file) and add only the keys that differ, e.g. `signing: {target_rate: 0.6}`; an empty mapping `{}` "
              "runs every default (see docs/writing_scenarios.md)")
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
    if data is None or (data == {} and not lines):  # nothing, only comments, or null
        raise ScenarioError([Problem(str(path), lines.get((), (str(path), 1))[1] or 1, "", EMPTY_FILE)])
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
        reason = apply_override(data, key, value)
        if reason:
            problems.append(Problem(COMMAND_LINE, None, f"--set {text}", reason))
            continue
        for p in [p for p in lines if p[:len(key)] == key]:
            del lines[p]
        lines[key] = (f"{COMMAND_LINE} (--set {text})", None)
    problems += _resolve_world_files(data, lines)
    problems += _resolve_world_files(data, lines, ("region", "files"))
    raw_changes = data.pop("changes", [])
    top = (sources[-1], None)
    base, base_problems = _validate(data, lines, top)
    problems += base_problems
    if base is not None and base.world.files is not None and not any(
            p.path.startswith("world.files") for p in problems):
        from sim.scenario.county_files import check_world_files  # here: it loads numpy, which a synthetic county's check does not need
        problems += check_world_files(base.world)
    changes = _check_changes(raw_changes, data, lines, base, top, problems)
    if base is not None and base.region is not None and not any(
            p.path.startswith("region.files") for p in problems):
        from sim.scenario.region_overrides import check_region  # its areas, and their own parameters
        check_region(base, [s for _, s in changes], lines, top, problems)
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


def _resolve_world_files(data: dict, lines: dict[Path_, Where], at: Path_ = ("world", "files")) -> list[Problem]:
    """Make `world.files` (or `region.files`) paths absolute, relative to the file that names them;
    report missing ones."""
    section = data.get(at[0])
    files = section.get(at[1]) if isinstance(section, dict) else None
    if not isinstance(files, dict):
        return []
    problems = []
    for key, value in files.items():
        if not isinstance(value, str):
            continue
        path = at + (key,)
        file, line = _locate(path, lines, ("", None))
        base = Path.cwd() if file.startswith(COMMAND_LINE) or not file else Path(file).parent
        resolved = _resolved(base / value)
        if not _is_file(resolved):
            problems.append(Problem(file or COMMAND_LINE, line, show_path(path),
                                    f"file {value!r} not found (looked for {resolved})"))
        files[key] = str(resolved)
    return problems


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
                set_in(trial, key_path, copy.deepcopy(value))
            except NoSuchPath as exc:
                problems.append(Problem(file, line, shown_key, str(exc)))
                ok = False
                continue
            scenario, errs = _validate(trial, {}, (file, line), rename=(key_path, shown_key))
            problems.extend(Problem(file, line, err.path, err.message) for err in errs)
            if scenario is None:
                ok = False
                continue
            for fixed, instead in READ_AT_START.items():
                if value_at(scenario, fixed) != value_at(current_scenario, fixed):
                    problems.append(Problem(file, line, shown_key,
                                            f"{'.'.join(fixed)} sets the state on day 0 and is read only when the "
                                            f"run starts; to change it from day {change.day} use {instead}"))
                    ok = False
            if ok:
                current, current_scenario = trial, scenario
        if ok and current_scenario is not None:
            out.append((change, current_scenario))
    return out
