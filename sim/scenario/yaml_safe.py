"""Reading YAML safely, with the line of every key: plain values, lists and mappings only.

File size, aliases, nesting depth and the number of values are capped; every problem is
a `Problem` with file and line.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from sim.scenario.problems import COMMAND_LINE, Path_, Problem, ScenarioError, Where, show_path, shown

MAX_BYTES = 1_000_000
MAX_ALIASES = 100
MAX_NODES = 200_000
MAX_DEPTH = 40           # a scenario nests 6 levels; deeper input is refused before it can exhaust the stack
YAML_TAG = "tag:yaml.org,2002:"
SAFE_TAGS = frozenset(YAML_TAG + t for t in ("null", "bool", "int", "float", "str", "seq", "map", "merge",
                                             "timestamp"))
MERGE_TAG = YAML_TAG + "merge"
# YAML 1.2 reads 1e5 and 2.5E-3 as numbers; PyYAML (YAML 1.1) reads them as text.
FLOAT_12 = re.compile(r"[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)[eE][-+]?[0-9]+")


class _Refused(Exception):
    """Input refused while composing the YAML (alias bomb, nesting too deep)."""

    def __init__(self, line: int, message: str):
        super().__init__(message)
        self.line = line
        self.message = message


class _Loader(yaml.SafeLoader):
    """A safe loader that counts aliases and nesting, to refuse alias bombs and stack exhaustion."""

    def __init__(self, stream: str):
        super().__init__(stream)
        self.aliases = 0
        self.depth = 0

    def compose_node(self, parent, index):  # a PyYAML hook
        line = self.peek_event().start_mark.line + 1
        if self.check_event(yaml.AliasEvent):
            self.aliases += 1
            if self.aliases > MAX_ALIASES:
                raise _Refused(line, f"more than {MAX_ALIASES} aliases (*name); refusing a possible alias bomb")
        self.depth += 1
        try:
            if self.depth > MAX_DEPTH:
                raise _Refused(line, f"values nested more than {MAX_DEPTH} levels deep; "
                                     "allowed: a scenario's sections, a few levels deep")
            return super().compose_node(parent, index)
        finally:
            self.depth -= 1


def _line_at(text: str, position: int | None) -> int | None:
    return None if position is None else text.count("\n", 0, max(position, 0)) + 1


def _compose(text: str, name: str) -> tuple[yaml.Node | None, _Loader]:
    """Parse YAML text into a node tree; YAML-level problems become a ScenarioError."""
    try:
        loader = _Loader(text)
    except yaml.reader.ReaderError as exc:  # a control character anywhere in the text
        raise ScenarioError([Problem(name, _line_at(text, exc.position), "",
                                     f"unacceptable character U+{exc.character:04X} ({exc.reason}); "
                                     "allowed: printable text")]) from None
    try:
        return loader.get_single_node(), loader
    except _Refused as exc:
        raise ScenarioError([Problem(name, exc.line, "", exc.message)]) from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        what = "; ".join(str(x) for x in (exc.context, exc.problem) if x)
        raise ScenarioError([Problem(name, mark.line + 1 if mark else None, "",
                                     f"YAML syntax error: {what}")]) from None
    except yaml.YAMLError as exc:
        raise ScenarioError([Problem(name, None, "", f"YAML error: {exc}")]) from None
    finally:
        loader.dispose()


def load_yaml(path: Path) -> tuple[Any, dict[Path_, Where]]:
    """Read one YAML file safely; return its data and the line of every key path."""
    name = str(path)
    try:
        if path.is_dir():
            raise ScenarioError([Problem(name, None, "", "this is a folder; allowed: a scenario YAML file")])
        size = path.stat().st_size
    except (OSError, ValueError) as exc:
        reason = getattr(exc, "strerror", None) or str(exc)
        raise ScenarioError([Problem(name, None, "", f"cannot read the file ({reason})")]) from None
    if size > MAX_BYTES:
        raise ScenarioError([Problem(name, None, "", f"file is {size:,} bytes; allowed: at most {MAX_BYTES:,}")])
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ScenarioError([Problem(name, None, "", f"cannot read the file as UTF-8 text ({exc})")]) from None
    node, loader = _compose(text, name)
    if node is None:
        return {}, {}
    lines: dict[Path_, Where] = {}
    problems: list[Problem] = []
    data = _build(node, (), name, lines, problems, loader, [0, 0], 0)
    if problems:
        raise ScenarioError(problems)
    return data, lines


def _tag_problem(tag: str) -> str | None:
    if tag in SAFE_TAGS or tag == "!":
        return None
    short = tag.replace(YAML_TAG, "!!")
    if short.startswith("!!python"):
        return f"unsafe YAML tag {short!r} (it could run code); allowed: plain values, lists and mappings"
    return f"unknown YAML tag {short!r}; allowed: plain values, lists and mappings"


def _build(node: yaml.Node, path: Path_, name: str, lines: dict[Path_, Where], problems: list[Problem],
           loader: _Loader, counter: list[int], depth: int) -> Any:
    """Turn a node tree into plain data, recording lines and every problem met.

    `counter` is [values built, whether the size limit was reported].
    """
    counter[0] += 1
    line = node.start_mark.line + 1
    if counter[0] > MAX_NODES or depth > MAX_DEPTH:
        if counter[1] == 0:  # report once, then stop building
            problems.append(Problem(name, line, show_path(path),
                                    f"more than {MAX_NODES:,} values or {MAX_DEPTH} levels after expanding "
                                    "aliases; refusing a possible alias bomb"))
            counter[1] = 1
        return None
    lines.setdefault(path, (name, line))
    bad_tag = _tag_problem(node.tag)
    if bad_tag:
        problems.append(Problem(name, line, show_path(path), bad_tag))
        return None
    if isinstance(node, yaml.MappingNode):
        return _build_mapping(node, path, name, lines, problems, loader, counter, depth)
    if isinstance(node, yaml.SequenceNode):
        return [_build(item, path + (i,), name, lines, problems, loader, counter, depth + 1)
                for i, item in enumerate(node.value)]
    if node.tag == YAML_TAG + "str" and node.style is None and FLOAT_12.fullmatch(node.value):
        return float(node.value)
    try:
        return loader.construct_object(node, deep=True)
    except (yaml.YAMLError, ValueError, OverflowError) as exc:  # e.g. a date like 2025-13-45
        reason = getattr(exc, "problem", None) or str(exc)
        problems.append(Problem(name, line, show_path(path), f"cannot read the value {shown(node.value)} ({reason})"))
        return None


def _build_mapping(node: yaml.MappingNode, path: Path_, name: str, lines: dict[Path_, Where],
                   problems: list[Problem], loader: _Loader, counter: list[int], depth: int) -> dict[str, Any]:
    # Duplicates are checked among the keys written here; keys brought in by a merge (<<: *x)
    # are meant to be overridden.
    seen: set[str] = set()
    for key_node, _ in node.value:
        if isinstance(key_node, yaml.ScalarNode) and key_node.tag != MERGE_TAG:
            key = str(key_node.value)
            if key in seen:
                problems.append(Problem(name, key_node.start_mark.line + 1, show_path(path + (key,)),
                                        "duplicate key; allowed: each key once per mapping"))
            seen.add(key)
    try:
        loader.flatten_mapping(node)
    except yaml.YAMLError as exc:
        problems.append(Problem(name, node.start_mark.line + 1, show_path(path),
                                f"bad merge key (<<): {getattr(exc, 'problem', None) or exc}"))
        return {}
    out: dict[str, Any] = {}
    for key_node, value_node in node.value:
        key_line = key_node.start_mark.line + 1
        if not isinstance(key_node, yaml.ScalarNode):
            problems.append(Problem(name, key_line, show_path(path), "a key must be a plain word, not a list or mapping"))
            continue
        bad_tag = _tag_problem(key_node.tag)
        if bad_tag:
            problems.append(Problem(name, key_line, show_path(path), bad_tag))
            continue
        key = str(key_node.value)
        lines[path + (key,)] = (name, key_line)
        out[key] = _build(value_node, path + (key,), name, lines, problems, loader, counter, depth + 1)
    return out


def parse_value(text: str) -> Any:
    """Read a `--set` value as YAML (numbers, true/false, null, lists); anything unreadable stays text."""
    if not text.strip():
        return ""
    try:
        node, loader = _compose(text, COMMAND_LINE)
    except ScenarioError:
        return text
    if node is None:
        return None
    problems: list[Problem] = []
    value = _build(node, (), COMMAND_LINE, {}, problems, loader, [0, 0], 0)
    return text if problems else value
