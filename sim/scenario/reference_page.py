"""The scenario reference page (`docs/scenarios.md`), generated from the schema itself.

`python run.py schema-doc` writes it; tests/test_scenarios.py checks the committed page
equals `render()`, so the reference cannot drift from the schema (`sim/scenario/`). Defaults are read
from a default `Scenario()`, so values set by factories (the insurance schemes) are shown
as the model uses them.
"""

from __future__ import annotations

import typing
from typing import Any, Literal

from pydantic import BaseModel
from pydantic.fields import FieldInfo

from sim.scenario import fields, loader as scenario, yaml_safe
from sim.scenario.fields import bounds, fields_of, is_model, list_item, unwrap
from sim.scenario.schema import FIXED_AT_START, MIN_AGENTS, Scenario

SECTIONS = ("world", "population", "behaviour", "providers", "insurance", "referral", "signing",
            "medical_community", "region")
HEADER = """# Scenario reference

<!-- Generated from the schema in sim/scenario/ by `python run.py schema-doc`. Do not edit by hand:
     change the schema and regenerate; tests/test_scenarios.py fails if this page drifts. -->

Every parameter a scenario file can set: its key path, type, unit, allowed range, default
and the source of the default. A scenario states only what differs from these defaults
(or, with `extends:`, from another scenario). The library of ready-made scenarios is in
`scenarios/`; each file opens with the real policy it mirrors.
"""


# ----------------------------------------------------------------- formatting

def _cell(text: str) -> str:
    return " ".join(str(text).split()).replace("|", "\\|")


def _number(x: float, grouped: bool = True) -> str:
    """A number for a reader (grouped thousands) or, with grouped=False, as YAML reads it."""
    if isinstance(x, bool):
        return "true" if x else "false"
    if isinstance(x, float) and x.is_integer() and abs(x) < 1e15:
        x = int(x)
    if isinstance(x, int):
        return f"{x:,}" if grouped else str(x)
    return f"{x:g}"


def format_value(value: Any) -> str:
    """A default value as YAML would spell it."""
    if value is None:
        return "`null`"
    if isinstance(value, bool):
        return f"`{'true' if value else 'false'}`"
    if isinstance(value, (int, float)):
        return f"`{_number(value, grouped=False)}`"
    if isinstance(value, str):
        return f'`"{value}"`' if value == "" or value.strip() != value else f"`{value}`"
    if isinstance(value, list):
        return "`[]`" if not value else f"{len(value)} item(s)"
    return f"`{value}`"


def type_words(annotation: Any) -> str:
    """The type of a field in words."""
    inner, nullable = unwrap(annotation), fields.nullable(annotation)
    origin = typing.get_origin(inner)
    if origin is Literal:
        words = "one of " + ", ".join(f"`{a}`" for a in typing.get_args(inner))
    elif origin is list:
        words = "list"
    elif origin is dict:
        words = "mapping of key paths to values"
    elif is_model(inner):
        words = "mapping"
    else:
        words = {bool: "true/false", int: "whole number", float: "number", str: "text"}.get(inner, str(inner))
    return words + (" or `null`" if nullable else "")


def allowed_words(fld: FieldInfo) -> str:
    """The allowed range of a field, from its bounds."""
    lo, hi, strict_lo = bounds(fld)
    least, most = fields.lengths(fld)
    lengths = ([f"at least {least} item(s)"] if least is not None else []) + \
        ([f"at most {most}"] if most is not None else [])
    if lengths:
        return ", ".join(lengths)
    if unwrap(fld.annotation) is bool:
        return "`true`, `false`"
    if lo is not None and hi is not None:
        return f"{_number(lo)} to {_number(hi)}"
    if lo is not None:
        return f"{'>' if strict_lo else '≥'} {_number(lo)}"
    if hi is not None:
        return f"≤ {_number(hi)}"
    return ""


# ----------------------------------------------------------------- the walk

def _all_leaves(model: type[BaseModel]) -> bool:
    for fld in fields_of(model).values():
        inner = unwrap(fld.annotation)
        if is_model(inner) or is_model(list_item(inner)):
            return False
    return True


def _rows(model: type[BaseModel], path: str, value: Any, context: str = "", source: str = "",
          item_values: list | None = None) -> tuple[list[list[str]], list[tuple[str, type[BaseModel], Any, str, str]]]:
    """Table rows for a model's parameters; sub-models made only of values are flattened into
    the same table, others are returned to get their own heading."""
    rows: list[list[str]] = []
    nested: list[tuple[str, type[BaseModel], Any, str, str]] = []
    for name, fld in fields_of(model).items():
        key = f"{path}.{name}" if path else name
        doc = fields.doc(fld)
        if context:
            doc = f"{context}: {doc}" if doc and not doc.startswith(context) else (doc or context)
        src = fields.source(fld) or source
        inner = unwrap(fld.annotation)
        current = getattr(value, name) if value is not None else fields.default(fld)
        defaults = [getattr(v, name) if v is not None else None for v in item_values] if item_values else None
        if is_model(list_item(inner)):
            item = list_item(inner)
            rows.append(_row(key, fld, current, doc, src))
            sub, _ = _rows(item, f"{key}[i]", None, "", src, item_values=current or [])
            rows += sub
        elif is_model(inner) and _all_leaves(inner):
            if current is None and defaults is None:
                rows.append(_row(key, fld, None, doc or (inner.__doc__ or ""), src))
            sub, _ = _rows(inner, key, current, fld.description or "", src,
                           item_values=defaults)
            rows += sub
        elif is_model(inner):
            nested.append((key, inner, current, fields.doc(fld), fields.source(fld)))
        else:
            rows.append(_row(key, fld, current, doc, src, defaults))
    return rows, nested


def _row(key: str, fld: FieldInfo, default: Any, doc: str, source: str,
         item_defaults: list | None = None) -> list[str]:
    if item_defaults is not None:
        shown = " / ".join(format_value(v) for v in item_defaults) if item_defaults else ""
    elif fld.is_required():
        shown = "required"
    else:
        shown = format_value(default)
    return [f"`{key}`", type_words(fld.annotation), fields.unit(fld), allowed_words(fld), shown, doc, source]


def _table(rows: list[list[str]]) -> list[str]:
    out = ["| key | type | unit | allowed | default | description | source |",
           "|---|---|---|---|---|---|---|"]
    out += ["| " + " | ".join(_cell(c) or "" for c in row) + " |" for row in rows]
    return out


def _section(path: str, model: type[BaseModel], value: Any, doc: str, level: int, source: str = "") -> list[str]:
    rows, nested = _rows(model, path, value)
    heading = "#" * level
    title = f"{heading} `{path}`"
    intro = " ".join((model.__doc__ or "").split("\n\n")[0].split())
    out = [title, ""]
    if doc and doc.lower() not in intro.lower():
        out += [doc[0].upper() + doc[1:] + ".", ""]
    if intro:
        out += [intro, ""]
    rest = (model.__doc__ or "").split("\n\n")[1:]
    if rest:
        out += [" ".join(p.split()) for p in rest] + [""]
    if source:
        out += [f"Source of the defaults: {source}.", ""]
    if rows:
        out += _table(rows) + [""]
    for key, inner, current, sub_doc, src in nested:
        out += _section(key, inner, current, sub_doc, min(level + 1, 4), src)
    return out


# ----------------------------------------------------------------- the page

def _composition() -> list[str]:
    changeable = ", ".join(f"`{s}`" for s in SECTIONS if s not in FIXED_AT_START)
    fixed = ", ".join(f"`{k}`" for k in FIXED_AT_START)
    start_only = "; ".join(f"`{'.'.join(p)}` (use {instead} instead)" for p, instead in scenario.READ_AT_START.items())
    out: list[str] = []

    def para(*parts: str) -> None:
        out.extend(["".join(parts), ""])

    def code(kind: str, *lines: str) -> None:
        out.extend([f"```{kind}", *lines, "```", ""])

    para("## How a scenario file is read")
    para("A scenario is a YAML mapping. Keys are the sections below; anything not given takes its default. ",
         "Numbers may be written `0.85`, `1500` or `1.5e3`; `null` means none (no cap).")
    para("### `extends:` state only what differs")
    code("yaml",
         "extends: baseline.yaml      # a path relative to this file",
         "name: my_policy",
         "insurance:",
         "  resident:",
         "    outpatient:",
         "      tertiary: {rate: 0.30}  # every other key comes from baseline.yaml")
    para("The file is merged key by key over the one it extends (which may itself extend another, ",
         f"up to {scenario.MAX_EXTENDS_DEPTH} levels); the child's values win, and `changes:` lists add up: the ",
         "parent's dated changes come first. A section given in part keeps the defaults of every key it does ",
         "not name. A loop of files extending each other is an error.")
    para("### `changes:` dated policy changes inside one run")
    code("yaml",
         "changes:",
         "  - day: 183                                   # 0 is the first recorded day",
         "    label: Tertiary outpatient pooling off       # shown in figures and the summary",
         "    set:",
         "      insurance.resident.outpatient.tertiary.pooled: false",
         "  - day: 365",
         "    label: Grassroots inpatient rate raised",
         "    set:",
         "      insurance.resident.inpatient.township.rate: 0.90")
    para("Each change sets dotted key paths (the same paths as in the tables below) from its day on; ",
         "changes apply in day order, each on top of the ones before, and changes on the same day act as one. ",
         "The terminal summary and `summary.json` show the indicators before and after the first change. ",
         f"Sections that can change during a run: {changeable}. Fixed when the run starts: {fixed}. ",
         f"Parameters that set the day-0 state and are read only at the start: {start_only}. ",
         "A change dated on or after the last day is an error.")
    para("### `--set` overrides from the command line")
    code("bash",
         "python run.py scenarios/baseline.yaml --set insurance.resident.outpatient.tertiary.rate=0 \\",
         "    --set world.population=20000 --set world.tertiary.0.distance_km=60 --days 730 --seed 7")
    para("`--set key.path=value` applies after `extends:` and before validation, so an override is checked ",
         "like a line in the file. The value is read as YAML (`0.3`, `true`, `null`, `[a, b]`); list items are ",
         "numbered from 0. `--days` and `--seed` are shortcuts for `--set days=` and `--set seed=`. The resolved ",
         "scenario (after extends, overrides and changes) is saved as `scenario.yaml` in each run folder and can ",
         "be run again as it is.")
    para("### Validation")
    para("`python run.py validate FILE...` checks files without running them; `python run.py FILE` checks ",
         "before it runs anything. Every problem in a file is reported at once, each with the file, the line, ",
         "the key path, what was found and what is allowed; the exit code is 2 and no results folder is created:")
    code("text",
         "error: scenarios/my_policy.yaml: 2 problems found, nothing was run:",
         "  scenarios/my_policy.yaml:7: insurance.resident.outpatient.tertiary.rat: unknown key 'rat'; "
         + "did you mean 'rate'? allowed here: rate, deductible, annual_cap, pooled",
         "  scenarios/my_policy.yaml:12: changes[0].day: found day 400, after the run ends; allowed: 0 to 364 "
         + "(days: 365; lengthen the run or move the change)")
    para("What is refused: an empty file (start it with `extends: baseline.yaml`), unknown keys (with the closest valid key), wrong types (`'30'` where a number is ",
         "expected; no silent conversion), values out of range, inconsistent combinations (severity shares that ",
         "do not sum to 1, a global budget without a medical community, a population too small for its scale ",
         f"(under {MIN_AGENTS} agents), a change after the run ends, a change to a parameter fixed at the start), ",
         "duplicate keys, missing or unreadable files, YAML syntax errors, YAML tags other than plain values, ",
         f"lists and mappings (`!!python/...` is never executed), more than {yaml_safe.MAX_ALIASES} aliases or ",
         f"{yaml_safe.MAX_NODES:,} values after expanding them (alias bombs), nesting deeper than ",
         f"{yaml_safe.MAX_DEPTH} levels and files over {yaml_safe.MAX_BYTES:,} bytes.")
    return out


def render() -> str:
    """The whole reference page as Markdown."""
    default = Scenario()
    out = HEADER.splitlines() + [""]
    out += ["Contents: [how a file is read](#how-a-scenario-file-is-read) · [run](#run) · "
            + " · ".join(f"[{s}](#{s})" for s in SECTIONS) + " · [changes](#changes)", ""]
    out += _composition()
    top = fields_of(Scenario)
    run_rows = [_row(name, fld, getattr(default, name), fields.doc(fld), fields.source(fld))
                for name, fld in top.items() if name not in SECTIONS and name != "changes"]
    out += ["## run", "", "Top-level keys: the run itself.", ""] + _table(run_rows) + [""]
    for name in SECTIONS:
        fld = top[name]
        out += _section(name, unwrap(fld.annotation), getattr(default, name), fields.doc(fld), 2)
    item = list_item(top["changes"].annotation)
    rows, _ = _rows(item, "changes[i]", None)
    out += ["## changes", "", "Dated policy changes, in day order (see above). Each item:", ""]
    out += _table(rows) + [""]
    return "\n".join(out).rstrip() + "\n"
