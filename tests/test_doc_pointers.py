"""Every document a scenario, template or doc points at exists."""

from __future__ import annotations

import re

from tests.conftest import ROOT


def test_every_docs_path_named_in_scenarios_and_docs_exists():
    named = set()
    for path in [*ROOT.glob("scenarios/**/*"), *ROOT.glob("docs/*.md"), ROOT / "README.zh-CN.md"]:
        if path.is_file() and path.suffix in (".yaml", ".csv", ".md", ".py"):
            text = path.read_text(encoding="utf-8", errors="replace")
            named |= {(path, m) for m in re.findall(r"\bdocs/[\w./-]+\.(?:md|py)\b", text)}
    missing = [f"{p.relative_to(ROOT)} -> {m}" for p, m in named if not (ROOT / m).exists()]
    assert not missing, missing
    assert any(m == "docs/csv_county.md" for p, m in named if p.parent.name == "templates")
