"""Loading a scenario: YAML with line numbers, `extends:`, `--set` overrides, dated changes.

Everything is validated before anything runs. Every problem is reported at once as a
`ScenarioError` naming file, line, key path, what was found and what is allowed.
Only safe YAML is read; file size, aliases and nodes are capped.
"""

from __future__ import annotations

import copy
import difflib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from sim.schema import FIXED_AT_START, Scenario

MAX_BYTES = 1_000_000
MAX_ALIASES = 100
MAX_NODES = 200_000
MAX_EXTENDS_DEPTH = 10
SAFE_TAG_PREFIX = "tag:yaml.org,2002:"
COMMAND_LINE = "command line"

Path_ = tuple[str | int, ...]
Where = tuple[str, int | None]


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a scenario, located for the planner."""

    file: str
    line: int | None
    path: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{where}: {self.path or '(top level)'}: {self.message}"


class ScenarioError(Exception):
    """All the problems found in a scenario; the only error the loader raises."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


@dataclass
class Timeline:
    """The validated scenario and the parameter sets that take over on given days."""

    base: Scenario
    changes: list[tuple[int, str, Scenario]] = field(default_factory=list)
    sources: list[str] = field(default_factory=list)
    overrides: list[str] = field(default_factory=list)

    @property
    def first_change_day(self) -> int | None:
        """Day of the first dated change, or None."""
        return self.changes[0][0] if self.changes else None

    def resolved(self) -> dict[str, Any]:
        """The fully resolved scenario as plain data (saved with each run)."""
        return self.base.model_dump(mode="json")


def show_path(path: Path_) -> str:
    """Render a key path as `a.b[0].c`."""
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


# ----------------------------------------------------------------------- YAML

class _Loader(yaml.SafeLoader):
    """A safe loader that counts aliases, to refuse alias bombs."""

    def __init__(self, stream: str):
        super().__init__(stream)
        self.aliases = 0

    def compose_node(self, parent, index):  # noqa: D102 - yaml hook
        if self.check_event(yaml.AliasEvent):
            self.aliases += 1
            if self.aliases > MAX_ALIASES:
                event = self.peek_event()
                raise yaml.YAMLError(f"more than {MAX_ALIASES} aliases (line {event.start_mark.line + 1}); "
                                     "refusing a possible alias bomb")
        return super().compose_node(parent, index)


def load_yaml(path: Path) -> tuple[Any, dict[Path_, Where]]:
    """Read one YAML file safely; return its data and the line of every key path."""
    name = str(path)
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise ScenarioError([Problem(name, None, "", f"cannot read the file ({exc.strerror or exc})")]) from None
    if size > MAX_BYTES:
        raise ScenarioError([Problem(name, None, "", f"file is {size:,} bytes; allowed: at most {MAX_BYTES:,}")])
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ScenarioError([Problem(name, None, "", f"cannot read the file as UTF-8 text ({exc})")]) from None
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
    except yaml.MarkedYAMLError as exc:
        line = exc.problem_mark.line + 1 if exc.problem_mark else None
        raise ScenarioError([Problem(name, line, "", f"YAML syntax error: {exc.problem}")]) from None
    except yaml.YAMLError as exc:
        raise ScenarioError([Problem(name, None, "", f"YAML error: {exc}")]) from None
    finally:
        loader.dispose()
    if node is None:
        return {}, {}
    lines: dict[Path_, Where] = {}
    problems: list[Problem] = []
    counter = [0]
    data = _build(node, (), name, lines, problems, loader, counter)
    if problems:
        raise ScenarioError(problems)
    return data, lines


def _build(node: yaml.Node, path: Path_, name: str, lines: dict[Path_, Where],
           problems: list[Problem], loader: _Loader, counter: list[int]) -> Any:
    counter[0] += 1
    if counter[0] > MAX_NODES:
        if counter[0] == MAX_NODES + 1:
            problems.append(Problem(name, node.start_mark.line + 1, show_path(path),
                                    f"more than {MAX_NODES:,} values after expanding aliases; refusing"))
        return None
    lines.setdefault(path, (name, node.start_mark.line + 1))
    if not node.tag.startswith(SAFE_TAG_PREFIX) and node.tag not in ("!",):
        problems.append(Problem(name, node.start_mark.line + 1, show_path(path),
                                f"unsafe or unknown YAML tag {node.tag!r}; allowed: plain values, lists and mappings"))
        return None
    if isinstance(node, yaml.MappingNode):
        try:
            loader.flatten_mapping(node)
        except yaml.YAMLError as exc:
            problems.append(Problem(name, node.start_mark.line + 1, show_path(path), f"bad merge key: {exc}"))
            return None
        out: dict[str, Any] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode):
                problems.append(Problem(name, key_node.start_mark.line + 1, show_path(path),
                                        "a key must be a plain word, not a list or mapping"))
                continue
            key = str(loader.construct_scalar(key_node))
            if key in out:
                problems.append(Problem(name, key_node.start_mark.line + 1, show_path(path + (key,)),
                                        "duplicate key; allowed: each key once per mapping"))
                continue
            lines[path + (key,)] = (name, key_node.start_mark.line + 1)
            out[key] = _build(value_node, path + (key,), name, lines, problems, loader, counter)
        return out
    if isinstance(node, yaml.SequenceNode):
        return [_build(item, path + (i,), name, lines, problems, loader, counter)
                for i, item in enumerate(node.value)]
    try:
        return loader.construct_object(node, deep=True)
    except yaml.YAMLError as exc:
        problems.append(Problem(name, node.start_mark.line + 1, show_path(path), f"bad value: {exc}"))
        return None


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


def _load_with_extends(path: Path, stack: tuple[Path, ...] = ()) -> tuple[dict, dict, list[str]]:
    path = path.resolve() if path.exists() else path
    if path in stack:
        chain = " -> ".join(str(p) for p in stack + (path,))
        raise ScenarioError([Problem(str(stack[-1]), None, "extends", f"extends itself in a loop: {chain}")])
    if len(stack) >= MAX_EXTENDS_DEPTH:
        raise ScenarioError([Problem(str(path), None, "extends", f"more than {MAX_EXTENDS_DEPTH} levels of extends")])
    data, lines = load_yaml(path)
    if not isinstance(data, dict):
        raise ScenarioError([Problem(str(path), 1, "", f"found {type(data).__name__}; allowed: a mapping of keys "
                                                      "(name:, world:, insurance: ...)")])
    parent = data.pop("extends", None)
    if parent is None:
        return data, lines, [str(path)]
    if not isinstance(parent, str):
        file, line = lines.get(("extends",), (str(path), None))
        raise ScenarioError([Problem(file, line, "extends", f"found {parent!r}; allowed: a path to another scenario file")])
    parent_path = (path.parent / parent)
    if not parent_path.exists():
        file, line = lines[("extends",)]
        raise ScenarioError([Problem(file, line, "extends", f"file {parent!r} not found (looked in {path.parent})")])
    base, base_lines, sources = _load_with_extends(parent_path, stack + (path,))
    _merge(base, base_lines, data, lines)
    return base, base_lines, sources + [str(path)]


def parse_override(text: str) -> tuple[Path_, Any]:
    """Parse `a.b.c=value` (value read as YAML: numbers, true/false, null, text)."""
    if "=" not in text:
        raise ScenarioError([Problem(COMMAND_LINE, None, text, "an override must look like key.path=value")])
    key, _, raw = text.partition("=")
    try:
        value = yaml.safe_load(raw) if raw.strip() else ""
    except yaml.YAMLError:
        value = raw
    return split_path(key.strip()), value


def split_path(key: str) -> Path_:
    """Split `world.tertiary.0.distance_km` into its parts (digits become list indexes)."""
    return tuple(int(p) if p.isdigit() else p for p in key.split("."))


def _set_path(data: Any, path: Path_, value: Any) -> None:
    target = data
    for part in path[:-1]:
        if isinstance(target, dict):
            target = target.setdefault(part, {})
        elif isinstance(target, list) and isinstance(part, int) and part < len(target):
            target = target[part]
        else:
            raise KeyError(part)
    last = path[-1]
    if isinstance(target, dict):
        if isinstance(value, dict) and isinstance(target.get(last), dict):
            _merge(target[last], {}, value, {})
        else:
            target[last] = value
    elif isinstance(target, list) and isinstance(last, int) and last < len(target):
        target[last] = value
    else:
        raise KeyError(last)


# ------------------------------------------------------------------ validation

def _model_at(path: Path_) -> type[BaseModel] | None:
    """The schema model that holds the keys under `path`, if any."""
    model: Any = Scenario
    for part in path:
        if isinstance(part, int):
            continue
        fld = getattr(model, "model_fields", {}).get(part)
        if fld is None:
            return None
        model = _inner_model(fld.annotation)
        if model is None:
            return None
    return model


def _inner_model(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in getattr(annotation, "__args__", ()) or ():
        found = _inner_model(arg)
        if found is not None:
            return found
    return None


def _field_at(path: Path_):
    names = [p for p in path if not isinstance(p, int)]
    if not names:
        return None
    model = _model_at(tuple(names[:-1]))
    return None if model is None else model.model_fields.get(names[-1])


def check_key_path(path: Path_) -> str | None:
    """Why `path` is not a parameter of the schema, or None if it is."""
    for i, part in enumerate(path):
        if isinstance(part, int):
            continue
        model = _model_at(path[:i])
        if model is None:
            return None if i else "not a parameter"
        if part not in model.model_fields:
            return _unknown_key_message(part, model)
    return None


def _unknown_key_message(key: Any, model: type[BaseModel]) -> str:
    allowed = list(model.model_fields)
    close = difflib.get_close_matches(str(key), allowed, n=1, cutoff=0.6)
    hint = f"did you mean {close[0]!r}? " if close else ""
    return f"unknown key {str(key)!r}; {hint}allowed here: {', '.join(allowed)}"


def _describe_allowed(path: Path_) -> str:
    fld = _field_at(path)
    if fld is None:
        return ""
    lo = hi = None
    for meta in fld.metadata:
        lo = getattr(meta, "ge", None) if getattr(meta, "ge", None) is not None else lo
        lo = getattr(meta, "gt", None) if getattr(meta, "gt", None) is not None else lo
        hi = getattr(meta, "le", None) if getattr(meta, "le", None) is not None else hi
    unit = (fld.json_schema_extra or {}).get("unit", "") if isinstance(fld.json_schema_extra, dict) else ""
    unit = f" {unit}" if unit else ""
    if lo is not None and hi is not None:
        return f"a number from {lo:g} to {hi:g}{unit}"
    if lo is not None:
        return f"a number of at least {lo:g}{unit}"
    if hi is not None:
        return f"a number of at most {hi:g}{unit}"
    return ""


_TYPE_WORDS = {
    "float_type": "a number", "int_type": "a whole number", "bool_type": "true or false",
    "string_type": "text", "model_type": "a mapping of keys", "dict_type": "a mapping of keys",
    "list_type": "a list", "finite_number": "a finite number", "int_from_float": "a whole number",
}


def _message(err: dict, path: Path_) -> str:
    kind = err["type"]
    found = err.get("input")
    if kind == "extra_forbidden":
        model = _model_at(path[:-1])
        return _unknown_key_message(path[-1], model) if model else f"unknown key {path[-1]!r}"
    if kind == "missing":
        return "required key is missing"
    if kind in ("greater_than_equal", "less_than_equal", "greater_than", "less_than"):
        return f"found {found!r}; allowed: {_describe_allowed(path) or err['msg'].lower()}"
    if kind in _TYPE_WORDS:
        return f"found {found!r} ({type(found).__name__}); allowed: {_TYPE_WORDS[kind]}"
    if kind == "literal_error":
        return f"found {found!r}; allowed: {err['ctx']['expected']}"
    if kind == "value_error":
        return str(err["msg"]).removeprefix("Value error, ")
    return f"found {found!r}; {err['msg']}"


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
            shown = show_path(path)
            if rename and path[:len(rename[0])] == rename[0]:
                shown = rename[1]
            problems.append(Problem(file, line, shown, _message(err, path)))
        return None, problems


def load(path: str | Path, overrides: list[str] | tuple[str, ...] = (), *, days: int | None = None,
         seed: int | None = None) -> Timeline:
    """Load, compose and validate a scenario file; raise ScenarioError listing every problem."""
    path = Path(path)
    data, lines, sources = _load_with_extends(path)
    problems: list[Problem] = []
    applied = list(overrides)
    if days is not None:
        applied.append(f"days={days}")
    if seed is not None:
        applied.append(f"seed={seed}")
    for text in applied:
        key, value = parse_override(text)
        reason = check_key_path(key)
        if reason:
            problems.append(Problem(COMMAND_LINE, None, f"--set {text}", reason))
            continue
        try:
            _set_path(data, key, value)
        except (KeyError, TypeError):
            problems.append(Problem(COMMAND_LINE, None, f"--set {text}", "this key path does not exist here"))
            continue
        for p in [p for p in lines if p[:len(key)] == key]:
            del lines[p]
        lines[key] = (f"{COMMAND_LINE} (--set {text})", None)
    problems += _resolve_world_files(data, lines)
    raw_changes = data.pop("changes", [])
    top = (sources[-1], None)
    base, base_problems = _validate(data, lines, top)
    problems += base_problems
    changes = _check_changes(raw_changes, data, lines, base, top, problems)
    if problems:
        raise ScenarioError(problems)
    assert base is not None
    base = base.model_copy(update={"changes": [c for c, _ in changes]})
    timeline = Timeline(base=base, sources=sources, overrides=applied)
    timeline.changes = [(c.day, c.label, s) for c, s in changes]
    return timeline


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
        resolved = (base / value).resolve()
        if not resolved.is_file():
            problems.append(Problem(file or COMMAND_LINE, line, show_path(path),
                                    f"file {value!r} not found (looked for {resolved})"))
        files[key] = str(resolved)
    return problems


def _check_changes(raw: Any, data: dict, lines: dict, base: Scenario | None, top: Where,
                   problems: list[Problem]) -> list:
    from sim.schema import Change

    if not isinstance(raw, list):
        file, line = _locate(("changes",), lines, top)
        problems.append(Problem(file, line, "changes", f"found {raw!r}; allowed: a list of dated changes"))
        return []
    out = []
    current = copy.deepcopy(data)
    days = base.days if base else None
    order = sorted(range(len(raw)), key=lambda i: raw[i].get("day", 0) if isinstance(raw[i], dict)
                   and isinstance(raw[i].get("day"), int) else 0)
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
            shown = f"changes[{i}].set.{key}"
            if key_path[0] in FIXED_AT_START:
                problems.append(Problem(file, line, shown, f"{key_path[0]!r} is fixed when the run starts; allowed "
                                                           "in changes: behaviour, providers, insurance, referral, "
                                                           "signing, medical_community"))
                ok = False
                continue
            reason = check_key_path(key_path)
            if reason:
                problems.append(Problem(file, line, shown, reason))
                ok = False
                continue
            if base is None:
                continue  # the base is invalid: its errors are reported already
            trial = copy.deepcopy(current)
            try:
                _set_path(trial, key_path, copy.deepcopy(value))
            except (KeyError, TypeError):
                problems.append(Problem(file, line, shown, "this key path does not exist here"))
                ok = False
                continue
            scenario, errs = _validate(trial, {}, (file, line), rename=(key_path, shown))
            problems.extend(Problem(file, line, shown, err.message) for err in errs)
            if scenario is None:
                ok = False
            else:
                current = trial
        if ok and base is not None:
            out.append((change, Scenario.model_validate(current)))
    return out
