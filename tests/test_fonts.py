"""Chinese on a fresh machine: the CJK font ships as a Python dependency (pylopdf-fonts-zh-cn,
Noto Sans SC, SIL Open Font License 1.1), so Chinese labels and Chinese place names draw
without Debian's fonts-noto-cjk and without a single missing-glyph warning.

The test runs in a child process that hides every system CJK font from matplotlib first, as on
a machine that never had one; a control in the same process shows that the check would catch
missing glyphs.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from tests.conftest import ROOT

FRESH_MACHINE = textwrap.dedent("""
    import sys, warnings
    from pathlib import Path
    import matplotlib
    matplotlib.use("Agg")
    from matplotlib import font_manager as fm
    import re
    cjk = re.compile(r"cjk|wqy|wenquanyi|sourcehan|droidsansfallback|uming|ukai|simhei|msyh|pingfang|notosanssc", re.I)
    fm.fontManager.ttflist = [f for f in fm.fontManager.ttflist if not cjk.search(Path(f.fname).name)]
    fm.findSystemFonts = lambda *a, **k: []
    import matplotlib.pyplot as plt

    def glyph_warnings(draw):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            draw()
        return [str(w.message) for w in caught if "glyph" in str(w.message).lower()]

    def chinese_text():
        fig = plt.figure()
        fig.text(0.1, 0.5, "平阳县人民医院", family="DejaVu Sans")
        fig.savefig(sys.argv[2] + "/control.png")
        plt.close(fig)

    control = glyph_warnings(chinese_text)
    print("control-warnings", len(control))

    from sim.outputs.plots import style, draw_run          # registers the packaged font
    from sim.cli import run_scenario
    from sim.scenario.loader import load
    print("font", style.find_cjk_font())
    print("lang", style.resolve_lang("zh")[0])
    timeline = load(sys.argv[1], ["scale=400"], days=20)
    folder = run_scenario(timeline, Path(sys.argv[2]), draw=False, quiet=True)
    found = glyph_warnings(lambda: (draw_run(folder, "zh"), draw_run(folder, "en")))
    print("figures", len(list((folder / "figures").glob("*.png"))))
    print("run-warnings", len(found))
    for w in found[:3]:
        print("warning", w)
""")


@pytest.mark.slow
def test_chinese_draws_without_system_cjk_fonts(tmp_path):
    pytest.importorskip("pylopdf_fonts_zh_cn")
    proc = subprocess.run([sys.executable, "-c", FRESH_MACHINE, str(ROOT / "scenarios" / "pingyang_county.yaml"),
                           str(tmp_path)], cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = dict(line.split(" ", 1) for line in proc.stdout.splitlines())
    assert int(out["control-warnings"]) > 0  # without a CJK font, Chinese text does warn
    assert out["font"] == "Noto Sans SC" and out["lang"] == "zh"
    assert out["figures"] == "10"  # five English and five Chinese, side by side
    assert out["run-warnings"] == "0", proc.stdout
    assert "no Chinese font found" not in proc.stderr


def test_the_packaged_font_is_registered_with_matplotlib():
    pytest.importorskip("pylopdf_fonts_zh_cn")
    from matplotlib import font_manager

    from sim.outputs.plots import style

    path = style.packaged_cjk_font()
    assert path is not None and path.is_file()
    assert any(f.fname == str(path) and f.name == style.PACKAGED_CJK_FAMILY for f in font_manager.fontManager.ttflist)
    assert style.find_cjk_font() == style.PACKAGED_CJK_FAMILY
