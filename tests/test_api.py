"""The public API (`from sim import ...`) and the README's example of it, run as written."""

from __future__ import annotations

import pytest

import re
import subprocess
import sys

import sim
from tests.conftest import ROOT


def readme_example() -> str:
    """The Python block under the README's "From Python" heading."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("## From Python", 1)[1]
    return re.search(r"```python\n(.*?)```", section, re.S).group(1)


@pytest.mark.slow
def test_readme_example_runs_and_shows_a_policy_effect(tmp_path, monkeypatch):
    monkeypatch.chdir(ROOT)
    out = {}
    exec(compile(readme_example(), "README.md", "exec"), out)  # noqa: S102 - our own README
    comparison = out["comparison"]
    assert isinstance(comparison, sim.Comparison) and comparison.labels == ["baseline", "xinxiang_2025"]
    # Xinxiang 2025 takes residents' tertiary outpatient pooling away: fewer of them go there.
    diff = comparison.difference("xinxiang_2025", "visits_by_tier_scheme.tertiary.resident")
    assert diff.n == 3 and diff.high < 0
    assert 0.4 < out["summary"]["grassroots_share"] < 0.9


def test_public_names_resolve_and_unknown_names_fail():
    for name in sim.__all__:
        assert getattr(sim, name) is not None
    assert sim.Model is sim.TierFlowModel
    try:
        sim.no_such_thing
    except AttributeError as exc:
        assert "no_such_thing" in str(exc)
    else:
        raise AssertionError("an unknown name must raise AttributeError")


def test_importing_sim_does_not_load_mesa():
    code = "import sys, sim; sim.load; print('mesa' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False"
