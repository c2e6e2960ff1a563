"""Regenerate every run figure into docs/figures/, in English and Chinese, from the shipped scenarios.

    .venv/bin/python docs/make_screenshots.py                  # every figure, both languages
    .venv/bin/python docs/make_screenshots.py --with-readme     # and the README's section (docs/make_figures.py)
    .venv/bin/python docs/make_screenshots.py --scenario pingyang_county --lang zh

Also runs a small comparison (baseline against Xinxiang 2025, 3 paired replications of 20,000
residents) and a small sweep (the signing target, 2 replications of 10,000 residents) and draws
their figures into docs/figures/compare_<figure>[_zh].png and sweep_<figure>[_zh].png.

Runs each scenario with the command line (figures skipped), then draws each of its figures from
the saved run folder into docs/figures/<scenario>_<figure>.png (English) and
docs/figures/<scenario>_<figure>_zh.png (Chinese), as 256-colour PNGs small enough to commit,
at the projector size the program draws them (16:9). Pingyang runs at scale 10 (one agent for
ten residents) to stay quick. `--with-readme` also runs docs/make_figures.py, which writes
docs/figures.md and the classroom dashboard's screenshot.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sim.outputs.plots.run import FIGURES, build_figures  # noqa: E402
from sim.outputs.results import load_run, newest_run  # noqa: E402

OUT = ROOT / "docs" / "figures"
# scenario -> extra command-line options: a policy run, the baseline, and a county with Chinese names.
SCENARIOS = {"xinxiang_2025": [], "baseline": [], "pingyang_county": ["--set", "scale=10"]}


def run(scenario: str, out: Path) -> Path:
    """Run a shipped scenario with the command line; return its run folder."""
    subprocess.run([sys.executable, str(ROOT / "run.py"), str(ROOT / "scenarios" / f"{scenario}.yaml"),
                    "--out", str(out), "--no-figures", *SCENARIOS[scenario]], check=True, cwd=ROOT,
                   stdout=subprocess.DEVNULL)
    return newest_run(out / scenario)


EXPERIMENTS = {  # name -> the research command that makes its folder (small, to stay quick)
    "compare": ["compare", "scenarios/baseline.yaml", "scenarios/xinxiang_2025.yaml", "--reps", "3",
                "--set", "world.population=20000", "--window", "183:365"],
    "sweep": ["sweep", "scenarios/baseline.yaml", "--vary", "signing.target_rate=0.35:0.75:3", "--reps", "2",
              "--set", "world.population=10000"],
}


def experiment_figures(langs, tmp: Path) -> None:
    """Run each small experiment and copy its figures, in each language, into docs/figures."""
    from sim.outputs.plots.compare import draw_experiment

    for name, command in EXPERIMENTS.items():
        out = tmp / name
        subprocess.run([sys.executable, str(ROOT / "run.py"), *command, "--out", str(out)], check=True, cwd=ROOT,
                       stdout=subprocess.DEVNULL)
        folder = max(p for p in (out / name).iterdir() if p.is_dir() and not p.name.startswith("."))
        for lang in langs:
            for made in draw_experiment(folder, lang=lang):
                path = OUT / (f"{name}_{made.stem}.png" if lang == "en" else f"{name}_{made.stem}_{lang}.png")
                shutil.copyfile(made, path)
                print(f"{path.relative_to(ROOT)}  {path.stat().st_size / 1024:,.0f} KB", flush=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--scenario", action="append", choices=list(SCENARIOS), help="only these (repeatable)")
    parser.add_argument("--lang", action="append", choices=("en", "zh"), help="only these languages (repeatable)")
    parser.add_argument("--with-readme", action="store_true", help="also run docs/make_figures.py")
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT / "docs"))
    from make_figures import save_small_png  # the same small PNGs as the README's figures

    OUT.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        for scenario in args.scenario or SCENARIOS:
            loaded = load_run(run(scenario, Path(tmp)))
            for lang in args.lang or ("en", "zh"):
                for name in FIGURES:
                    fig = build_figures(loaded, lang, names=[name])[name]
                    path = OUT / (f"{scenario}_{name}.png" if lang == "en" else f"{scenario}_{name}_{lang}.png")
                    save_small_png(fig, path)
                    print(f"{path.relative_to(ROOT)}  {path.stat().st_size / 1024:,.0f} KB", flush=True)
        if not args.scenario:
            experiment_figures(args.lang or ("en", "zh"), Path(tmp))
    if args.with_readme:
        subprocess.run([sys.executable, str(ROOT / "docs" / "make_figures.py")], check=True, cwd=ROOT)
    return 0


if __name__ == "__main__":
    sys.exit(main())
