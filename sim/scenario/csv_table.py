"""Reading a CSV table a planner made: header checks, rows with their line numbers, and
cells parsed into numbers, choices and flags with a `Problem` (file, line, column) for
anything wrong. UTF-8 (with or without a BOM) or GB18030/GBK, as Chinese Excel saves it.
"""

from __future__ import annotations

import csv
import difflib
import io
import math
import os
from dataclasses import dataclass, field
from pathlib import Path

from sim.scenario.problems import Problem

MAX_BYTES = 200_000_000        # a full matrix for 2,000 settlements x 2,000 facilities is about 100 MB
TRUE, FALSE = ("true", "yes", "1", "y", "t"), ("false", "no", "0", "n", "f")
WHOLE_FILE, WHOLE_ROW = "(whole file)", "(whole row)"  # the `column` of a problem that is not in one column
LONLAT, KM = ("longitude", "latitude"), ("x_km", "y_km")

def shown_path(path: str | Path) -> str:
    """A file's path as shown in messages: relative to the working folder when inside it."""
    try:
        rel = os.path.relpath(path)
    except ValueError:
        return str(path)
    return str(path) if rel.startswith("..") else rel


@dataclass
class Table:
    """One CSV file: its header and rows (line number, cells by column)."""

    file: str
    header_line: int
    columns: list[str]
    rows: list[tuple[int, dict[str, str]]] = field(default_factory=list)

    def has(self, column: str) -> bool:
        """Whether the header names `column`."""
        return column in self.columns


def read_table(path: str, required: tuple[str, ...], optional: tuple[str, ...],
               problems: list[Problem], coordinates: bool = False) -> Table | None:
    """Read a CSV file, checking its header; problems are appended, None if it cannot be read."""
    name = shown_path(path)
    try:
        size = os.path.getsize(path)
        if size > MAX_BYTES:
            problems.append(Problem(name, None, WHOLE_FILE, f"file is {size:,} bytes; allowed: at most {MAX_BYTES:,}"))
            return None
        raw = Path(path).read_bytes()
    except OSError as exc:
        problems.append(Problem(name, None, WHOLE_FILE, f"cannot read the file ({exc.strerror or exc})"))
        return None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        try:
            text = raw.decode("gb18030")
        except UnicodeDecodeError as exc:
            problems.append(Problem(name, None, WHOLE_FILE, f"cannot read the file as text (byte {exc.start}); "
                                                    "allowed: UTF-8 or GBK/GB18030 text"))
            return None
    reader = csv.reader(io.StringIO(text, newline=""))
    header: list[str] | None = None
    header_line = 1
    rows: list[tuple[int, list[str]]] = []
    start = 1
    try:
        for cells in reader:
            line, start = start, reader.line_num + 1
            if not any(c.strip() for c in cells) or cells[0].lstrip().startswith("#"):
                continue
            cells = [c.strip() for c in cells]
            if header is None:
                header, header_line = [c.lower() for c in cells], line
            else:
                rows.append((line, cells))
    except csv.Error as exc:
        problems.append(Problem(name, reader.line_num, WHOLE_FILE, f"not valid CSV ({exc})"))
        return None
    if header is None:
        problems.append(Problem(name, None, WHOLE_FILE, "the file is empty; allowed: a header row, then one row per "
                                                f"record (columns: {', '.join(required)})"))
        return None
    table = Table(name, header_line, [c for c in header if c])
    known = required + optional + ((*LONLAT, *KM) if coordinates else ())
    ok = _check_header(table, header, required, known, problems)
    width = len(header)
    for line, cells in rows:
        if len(cells) > width and any(cells[width:]):
            problems.append(Problem(name, line, WHOLE_ROW, f"found {len(cells)} values but the header has {width} "
                                                    "columns; a comma inside a name? Put the name in double "
                                                    "quotes"))
            continue
        table.rows.append((line, {c: (cells[i] if i < len(cells) else "") for i, c in enumerate(header) if c}))
    return table if ok else None


def _check_header(table: Table, header: list[str], required: tuple[str, ...], known: tuple[str, ...],
                  problems: list[Problem]) -> bool:
    ok = True
    seen: set[str] = set()
    for col in header:
        if col in seen:
            problems.append(Problem(table.file, table.header_line, col, "column named twice; allowed: each once"))
            ok = False
        seen.add(col)
        if col and col not in known:
            close = difflib.get_close_matches(col, known, n=1, cutoff=0.75)
            if close and close[0] not in header:
                problems.append(Problem(table.file, table.header_line, col,
                                        f"unknown column; did you mean {close[0]!r}? (columns not "
                                        "used by TierFlow are allowed, but this looks like a misspelling)"))
                ok = False
    for col in required:
        if col not in seen:
            problems.append(Problem(table.file, table.header_line, col,
                                    f"missing column; the header has: {', '.join(c for c in header if c)}; "
                                    f"required: {', '.join(required)}"))
            ok = False
    return ok


class Row:
    """One row's cells, read into values; every problem goes to `problems` with file, line and column."""

    def __init__(self, table: Table, line: int, cells: dict[str, str], problems: list[Problem]):
        self.table, self.line, self.cells, self.problems = table, line, cells, problems
        self.ok = True

    def problem(self, column: str, message: str) -> None:
        """Record a problem in this row."""
        self.problems.append(Problem(self.table.file, self.line, column, message))
        self.ok = False

    def text(self, column: str, required: bool = True) -> str | None:
        """A text cell; blank is a problem if required."""
        value = self.cells.get(column, "")
        if not value:
            if required:
                self.problem(column, "missing value; allowed: text")
            return None
        return value

    def number(self, column: str, lo: float | None = None, hi: float | None = None, *, required: bool = True,
               whole: bool = False, unit: str = "") -> float | None:
        """A number cell within [lo, hi]; blank is None (a problem if required)."""
        value = self.cells.get(column, "")
        allowed = _allowed(lo, hi, whole, unit)
        if not value:
            if required:
                self.problem(column, f"missing value; allowed: {allowed}")
            return None
        try:
            x = float(value)
        except ValueError:
            self.problem(column, f"found {value!r}, not a number; allowed: {allowed}")
            return None
        if not math.isfinite(x) or (lo is not None and x < lo) or (hi is not None and x > hi) \
                or (whole and not x.is_integer()):
            self.problem(column, f"found {value}; allowed: {allowed}")
            return None
        return x

    def flag(self, column: str) -> bool | None:
        """A true/false cell; blank is None."""
        value = self.cells.get(column, "").lower()
        if not value:
            return None
        if value in TRUE or value in FALSE:
            return value in TRUE
        self.problem(column, f"found {self.cells[column]!r}; allowed: true or false (blank: the default)")
        return None

    def one_of(self, column: str, allowed: tuple[str, ...]) -> str | None:
        """A cell that must be one of `allowed` (case-insensitive)."""
        value = self.text(column)
        if value is None:
            return None
        if value.lower() in allowed:
            return value.lower()
        close = difflib.get_close_matches(value.lower(), allowed, n=1, cutoff=0.6)
        hint = f"did you mean {close[0]!r}? " if close else ""
        self.problem(column, f"found {value!r}; {hint}allowed: {' | '.join(allowed)}")
        return None


def _allowed(lo: float | None, hi: float | None, whole: bool, unit: str) -> str:
    kind = "a whole number" if whole else "a number"
    unit = f" {unit}" if unit else ""
    if lo is not None and hi is not None:
        return f"{kind} from {lo:,g} to {hi:,g}{unit}"
    if lo is not None:
        return f"{kind} of at least {lo:,g}{unit}"
    return f"{kind}{unit}"
