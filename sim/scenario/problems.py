"""What can be wrong with an input file, located for the planner: `Problem` and `ScenarioError`.

Also the key path itself, written `a.b.0.c`: `split_path` reads it, `show_path` shows it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

COMMAND_LINE = "command line"
MAX_SHOWN = 80           # characters of a found value quoted in a message

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


def split_path(key: str) -> Path_:
    """Split `world.tertiary.0.distance_km` into its parts (digits become list indexes)."""
    return tuple(int(p) if p.isascii() and p.isdigit() else p for p in key.split("."))  # not '²': no number


def show_path(path: Path_) -> str:
    """Render a key path as `a.b[0].c`."""
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def shown(value: Any) -> str:
    """A found value quoted for a message, shortened if long."""
    text = repr(value)
    return text if len(text) <= MAX_SHOWN else text[:MAX_SHOWN - 4] + " ..."
