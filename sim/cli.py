"""Command line: run a scenario, validate files, redraw figures.

    python run.py SCENARIO.yaml [--seed N] [--days N] [--out DIR] [--set key.path=value ...]
    python run.py validate FILE...
    python run.py plot RUN_DIR [--lang zh] [--boundaries FILE.geojson [--boundary-key PROPERTY]]
    python run.py report RUN_DIR [--table]
    python run.py dashboard [--port 8765]
    python run.py compare | sweep | sensitivity | calibrate | validate-model ...  (see --help of each)
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Callable
from pathlib import Path

from sim.outputs.runs import run_scenario, summary_table  # noqa: F401  (the run command's work and table)
from sim.scenario.loader import ScenarioError, load

EXIT_BAD_INPUT = 2
EXIT_CANNOT_WRITE = 1  # the run or drawing worked but its results could not be written


def _add_run_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--seed", type=int, help="random seed (default: the scenario's)")
    p.add_argument("--days", type=int, help="days to simulate (default: the scenario's)")
    p.add_argument("--out", default="results", help="results root folder (default: results/)")
    p.add_argument("--set", action="append", default=[], metavar="KEY.PATH=VALUE",
                   help="override a parameter, e.g. --set insurance.resident.outpatient.tertiary.rate=0")


def cmd_run(args: argparse.Namespace) -> int:
    timeline = load(args.scenario, args.set, days=args.days, seed=args.seed)
    base, out = timeline.base, Path(args.out)
    from sim.outputs.runs import residents_of

    problem = (_partitions_problem(args, base) or _memory_problem(residents_of(timeline), base.scale)
               or _results_folder_problem(out, base.name))
    if problem:
        print(f"error: {problem}; nothing was run", file=sys.stderr)
        return EXIT_BAD_INPUT
    if timeline.overrides:
        print("overrides (--set): " + ", ".join(timeline.overrides))
    _stop_cleanly_on_terminate()
    try:
        run_scenario(timeline, out, draw=not args.no_figures, lang=args.lang, partitions=args.partitions,
                     scheduler=args.scheduler)
    except OSError as err:
        print(f"error: {_write_error(err, out)}; nothing was kept", file=sys.stderr)
        return EXIT_CANNOT_WRITE
    except MemoryError:
        print(f"error: out of memory running {base.world.population:,} residents at scale {base.scale}; "
              "nothing was kept (try a larger --set scale=N)", file=sys.stderr)
        return EXIT_CANNOT_WRITE
    return 0


def _stop_cleanly_on_terminate() -> None:
    """Treat SIGTERM (a closed terminal, `kill`, a job scheduler) like Ctrl-C, so a run stopped
    while saving removes its temporary folder instead of leaving it behind."""
    import signal

    def stop(signum, frame):
        raise KeyboardInterrupt
    try:
        signal.signal(signal.SIGTERM, stop)
    except (ValueError, OSError):  # not the main thread: leave the default
        pass


def _partitions_problem(args: argparse.Namespace, base) -> str | None:
    """Why --partitions/--scheduler cannot apply to this run, or None."""
    if args.partitions is not None and args.partitions < 1:
        return f"--partitions {args.partitions}: allowed: 1 or more Dask workers"
    if (args.partitions is not None or args.scheduler) and base.region is None:
        return ("--partitions and --scheduler split a region's areas among Dask workers, and this scenario is one "
                "county (no region: section); allowed: a region scenario, e.g. scenarios/xinxiang_city.yaml")
    if args.scheduler:
        from sim.region.workers import scheduler_problem

        return scheduler_problem(args.scheduler)
    return None


def _memory_problem(population: int, scale: int) -> str | None:
    """Why a run of this size would not fit in memory, or None (see sim/outputs/capacity.py)."""
    from sim.outputs.capacity import available_bytes, refusal

    return refusal(population, scale, available_bytes())


def _results_folder_problem(out: Path, name: str) -> str | None:
    """Why runs cannot be written under `out` (checked before a run, so no time is wasted), or None.

    `out` itself may be created (by the run, when it saves), but not its parents: a typo or an
    unmounted disk is reported instead of writing results somewhere unexpected. The check leaves
    no folder behind, so a run that fails before saving leaves nothing."""
    import tempfile

    if out.exists() and not out.is_dir():
        return f"results folder {out} is a file, not a folder"
    parent = out.absolute().parent
    if not out.exists() and parent.exists() and not parent.is_dir():
        return f"results folder {out} cannot be created: {parent} is a file"
    if not out.exists() and not parent.exists():
        return f"results folder {out} does not exist, nor does {parent} (check --out)"
    # Probe the deepest folder that already exists with a nameless file: creating and removing
    # out/name here would race with other runs started at the same moment into the same folder.
    probe = next(p for p in (out / name, out, parent) if p.exists())
    try:
        with tempfile.TemporaryFile(dir=probe):
            pass
    except OSError as err:
        return f"results folder {out} is not writable ({err.strerror or err})"
    return None


def _write_error(err: OSError, out: Path) -> str:
    """One line naming what failed and where, for an error while writing results."""
    import errno

    where = err.filename or out
    reasons = {errno.ENOSPC: "disk full writing", errno.EDQUOT: "disk quota exceeded writing",
               errno.EACCES: "no permission to write", errno.EPERM: "no permission to write",
               errno.EROFS: "read-only file system: cannot write"}
    if err.errno in reasons:
        return f"{reasons[err.errno]} {where}"
    return f"{where}: {err.strerror or err}"


def resolve_run_folder(arg: str) -> tuple[Path | None, str | None]:
    """A run folder from what the user gave: a run folder itself, or a scenario's results folder
    (results/<name>), whose newest run is taken. Returns (folder, None) or (None, error)."""
    from sim.outputs.plots.compare import experiment_kind
    from sim.outputs.results import newest_run, run_sort_key

    folder = Path(arg)
    if not folder.exists():
        return None, f"{folder} does not exist"
    if not folder.is_dir():
        return None, f"{folder} is a file, not a run folder"
    if (folder / "daily.csv").exists() or experiment_kind(folder):
        return folder, None
    newest = newest_run(folder)
    if newest is None:  # perhaps results/compare: take the newest experiment
        found = [p for p in folder.iterdir() if p.is_dir() and not p.name.startswith(".") and experiment_kind(p)]
        newest = max(found, key=run_sort_key) if found else None
    if newest is None:
        return None, f"{folder} is not a run folder (no daily.csv) and holds no run folders"
    print(f"newest run in {folder}: {newest.name}", file=sys.stderr)
    return newest, None


def cmd_validate(args: argparse.Namespace) -> int:
    failed = 0
    for path in args.files:
        try:
            t = load(path, args.set)
            print(f"ok: {path} ({t.base.name}, {len(t.changes)} dated change(s))")
        except ScenarioError as err:
            failed += 1
            _print_problems(err, path)
    return EXIT_BAD_INPUT if failed else 0


def cmd_plot(args: argparse.Namespace) -> int:
    from sim.outputs.plots import draw_run
    from sim.outputs.plots.compare import draw_experiment, experiment_kind

    folder, problem = resolve_run_folder(args.folder)
    if problem:
        print(f"error: {problem}", file=sys.stderr)
        return EXIT_BAD_INPUT
    shapes = None
    if getattr(args, "boundaries", None):  # the areas' map from the planner's GeoJSON boundaries
        from sim.outputs.boundaries import BoundaryError, boundaries_for_run

        try:
            shapes = boundaries_for_run(folder, args.boundaries, args.boundary_key)
        except BoundaryError as err:
            print(f"error: {err}; no figure was drawn", file=sys.stderr)
            return EXIT_BAD_INPUT
    try:
        if experiment_kind(folder):  # a compare, sweep or sensitivity folder
            for p in draw_experiment(folder):
                print(p)
            return 0
        for p in draw_run(folder, lang=getattr(args, "lang", "en"), shapes=shapes):
            print(p)
    except OSError as err:
        print(f"error: {_write_error(err, folder)}; figures already there were kept", file=sys.stderr)
        return EXIT_CANNOT_WRITE
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    from sim.outputs.report import write_report

    folder, problem = resolve_run_folder(args.folder)
    if not problem and not (folder / "daily.csv").exists():
        problem = f"{folder} is not a run folder (no daily.csv)"
    if problem:
        print(f"error: {problem}", file=sys.stderr)
        return EXIT_BAD_INPUT
    if getattr(args, "table", False):  # the terminal tables of the saved run; no report is written
        from sim.outputs.runs import saved_tables

        print(saved_tables(folder, args.lang))
        return 0
    try:
        print(write_report(folder, lang=args.lang))
    except OSError as err:
        print(f"error: {_write_error(err, folder)}; no report was written", file=sys.stderr)
        return EXIT_CANNOT_WRITE
    return 0


def cmd_dashboard(args: argparse.Namespace) -> int:
    try:
        import mesa.visualization  # noqa: F401  (needs solara and its assets)
        import solara_assets  # noqa: F401
    except ImportError as exc:
        print(f"error: the dashboard needs the optional extra ({exc.name} is missing): "
              "pip install -e \".[dashboard]\"", file=sys.stderr)
        return EXIT_BAD_INPUT
    from sim.outputs.dashboard import serve

    print(f"TierFlow dashboard: http://{args.host}:{args.port}/  (Ctrl+C stops it)", flush=True)
    serve(args.host, args.port)
    return 0


def cmd_schema_doc(args: argparse.Namespace) -> int:
    from sim.scenario.reference_page import render

    text = render()
    if args.output == "-":
        print(text)
    else:
        Path(args.output).write_text(text, encoding="utf-8")
        print(f"wrote {args.output}")
    return 0


def _print_problems(err: ScenarioError, what: str) -> None:
    n = len(err.problems)
    print(f"error: {what}: {n} problem{'s' if n > 1 else ''} found, nothing was run:", file=sys.stderr)
    for p in err.problems:
        print(f"  {p}", file=sys.stderr)


COMMANDS: dict[str, tuple[str, Callable[[argparse.ArgumentParser], None], Callable]] = {}


def _register(name: str, help_: str, fn: Callable, setup: Callable[[argparse.ArgumentParser], None]) -> None:
    COMMANDS[name] = (help_, setup, fn)


def _setup_run(p):
    p.add_argument("scenario", help="scenario YAML file")
    _add_run_options(p)
    p.add_argument("--no-figures", action="store_true", help="skip drawing figures")
    p.add_argument("--partitions", type=int, metavar="N",
                   help="a region's areas on N Dask workers (a local cluster unless --scheduler); same numbers for any N")
    p.add_argument("--scheduler", metavar="tcp://HOST:PORT", help="run a region's areas on this running Dask cluster")
    _add_lang(p, "the indicator table and figure labels")


def _add_lang(p, what: str = "figure labels"):
    p.add_argument("--lang", choices=("en", "zh"), default="en",
                   help=f"{what}: English (default) or Chinese (figures need a CJK font, e.g. Noto Sans CJK)")


def _setup_plot(p):
    p.add_argument("folder", help="a run folder (results/<name>/<timestamp>)")
    _add_lang(p)
    p.add_argument("--boundaries", metavar="FILE.geojson",
                   help="a region's areas drawn with their boundaries from this GeoJSON file (needs the [geo] extra)")
    p.add_argument("--boundary-key", metavar="PROPERTY",
                   help="the GeoJSON property naming each area (default: the one matching area_id, name or name_zh)")


def _setup_report(p):
    p.add_argument("folder", help="a run folder (results/<name>/<timestamp>)")
    _add_lang(p, "the report's indicator names, headings and figure labels")
    p.add_argument("--table", action="store_true",
                   help="print the run's tables (a region's areas side by side) instead of writing the report")


def _setup_dashboard(p):
    p.add_argument("--port", type=int, default=8765, help="port to serve on (default 8765)")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1, this machine only)")


def _setup_validate(p):
    p.add_argument("files", nargs="+", help="scenario files to check")
    p.add_argument("--set", action="append", default=[], metavar="KEY.PATH=VALUE", help="overrides to check too")


_register("run", "run a scenario (the default command)", cmd_run, _setup_run)
_register("validate", "check scenario files without running them", cmd_validate, _setup_validate)
_register("plot", "redraw a run's figures from its saved results", cmd_plot, _setup_plot)
_register("report", "write a self-contained HTML report (report.html) into a run folder", cmd_report,
          _setup_report)
_register("dashboard", "start the classroom dashboard in the browser (needs the [dashboard] extra)",
          cmd_dashboard, _setup_dashboard)
_register("schema-doc", "write the scenario reference page from the schema", cmd_schema_doc,
          lambda p: p.add_argument("output", nargs="?", default="docs/scenarios.md"))


# Experiments (compare, sweep, sensitivity): their options and work live in their own modules.
def _experiment(module: str) -> tuple[Callable, Callable]:
    def setup(p):
        importlib.import_module(module).setup(p)

    def run(args):
        return importlib.import_module(module).command(args)
    return run, setup


_register("compare", "replicate scenarios with paired seeds; table and forest plot of differences",
          *_experiment("sim.studies.compare"))
_register("sweep", "run a grid over one or more parameters, replicated", *_experiment("sim.studies.sweep"))
_register("sensitivity", "global sensitivity of indicators to parameters (SALib: Morris or Sobol)",
          *_experiment("sim.studies.sensitivity"))
_register("calibrate", "fit behavioural constants to official figures; write a calibrated scenario",
          *_experiment("sim.studies.calibrate"))
_register("validate-model", "compare the model with published evidence not used in fitting",
          *_experiment("sim.studies.validation"))


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every command."""
    parser = argparse.ArgumentParser(
        prog="run.py", description="TierFlow: patient flow across China's care tiers.",
        epilog="With no command, `run.py SCENARIO.yaml` runs the scenario.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, (help_, setup, fn) in COMMANDS.items():
        p = sub.add_parser(name, help=help_)
        setup(p)
        p.set_defaults(func=fn)
    return parser


def main(argv: list[str] | None = None) -> None:
    """Entry point: parse, run, and turn bad input into exit code 2 without a traceback."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] not in COMMANDS and not argv[0].startswith("-"):
        argv.insert(0, "run")
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        sys.exit(EXIT_BAD_INPUT)
    try:
        code = args.func(args)
    except ScenarioError as err:
        _print_problems(err, getattr(args, "scenario", "scenario"))
        code = EXIT_BAD_INPUT
    except KeyboardInterrupt:
        print("interrupted: no partial results were kept", file=sys.stderr)
        code = 130
    sys.exit(code)
