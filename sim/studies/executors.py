"""Where replications run: in this process, a local process pool, or a Dask cluster.

Each is a `concurrent.futures.Executor`; the runner in `sim.studies.experiment` only submits tasks and
collects what finishes, so the numbers never depend on which executor ran them.

    with open_pool(workers=2) as pool:                     # local processes (the default)
    with open_pool(scheduler="tcp://10.0.0.5:8786") as pool:  # a Dask cluster
"""

from __future__ import annotations

import concurrent.futures as cf
import multiprocessing
import os
import signal
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TextIO


class InProcessExecutor(cf.Executor):
    """Runs each task in this process when it is submitted (`--workers 1`): easy to debug."""

    def submit(self, fn, /, *args, **kwargs) -> cf.Future:
        """Run `fn` now; return a finished future holding its result or its exception."""
        future: cf.Future = cf.Future()
        try:
            future.set_result(fn(*args, **kwargs))
        except Exception as exc:  # noqa: BLE001 - handed to the caller through the future
            future.set_exception(exc)
        return future


@dataclass
class Pool:
    """An executor, how many tasks to keep in flight on it, and how to describe it."""

    executor: cf.Executor
    slots: int
    description: str

    def stop_now(self) -> None:
        """Cancel waiting tasks and stop running ones (after Ctrl-C)."""
        ex = self.executor
        if isinstance(ex, cf.ProcessPoolExecutor):
            for proc in list((getattr(ex, "_processes", None) or {}).values()):
                proc.terminate()
            ex.shutdown(wait=False, cancel_futures=True)
        elif not isinstance(ex, InProcessExecutor):
            ex.shutdown(wait=False)  # Dask: cancels what has not finished


def _start_worker(parent: int) -> None:
    """Workers leave Ctrl-C to the parent (which stops them and keeps what finished), and exit if it is killed."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    threading.Thread(target=_exit_when_orphaned, args=(parent,), daemon=True).start()


def _exit_when_orphaned(parent: int, every: float = 0.5) -> None:
    """A killed parent cannot stop its pool: its workers would wait for tasks forever."""
    while _alive(parent):
        time.sleep(every)
    os._exit(1)


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            return fh.read().rsplit(b")", 1)[1].split()[0] not in (b"Z", b"X")  # a zombie is dead
    except FileNotFoundError:
        return False
    except OSError:  # no /proc: ask the kernel
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            pass
        return True


class PoolError(Exception):
    """The executor could not be started (for example, no Dask scheduler at the address)."""


@contextmanager
def open_pool(workers: int = 1, scheduler: str | None = None) -> Iterator[Pool]:
    """An executor for `workers` local processes (1: this process), or the Dask cluster at `scheduler`."""
    if scheduler:
        with _dask_pool(scheduler) as pool:
            yield pool
        return
    if workers <= 1:
        yield Pool(InProcessExecutor(), 1, "in this process")
        return
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["sim.studies.experiment", "sim.engine.model"])  # workers start with the model imported
    executor = cf.ProcessPoolExecutor(max_workers=workers, mp_context=context, initializer=_start_worker,
                                      initargs=(os.getpid(),))
    try:
        yield Pool(executor, 2 * workers, f"{workers} local worker processes")
    finally:
        executor.shutdown(wait=True, cancel_futures=True)


@contextmanager
def _dask_pool(address: str) -> Iterator[Pool]:
    try:
        from distributed import Client
    except ImportError:
        raise PoolError("--scheduler needs Dask: pip install -e '.[dask]'") from None
    try:
        client = Client(address, timeout="10s")
    except (OSError, TimeoutError, ValueError) as exc:
        raise PoolError(f"cannot reach the Dask scheduler at {address} ({exc}); start one with "
                        "`dask scheduler` and workers with `dask worker tcp://HOST:8786`") from None
    try:
        threads = sum(w.get("nthreads", 1) for w in client.scheduler_info().get("workers", {}).values())
        if threads == 0:
            print(f"note: the Dask scheduler at {address} has no workers yet; tasks wait until one joins",
                  file=sys.stderr)
        executor = client.get_executor(pure=False)
        yield Pool(executor, max(2 * threads, 2), f"Dask at {address} ({threads} worker threads)")
    finally:
        client.close()


class Progress:
    """A one-line progress bar on a terminal; plain lines (one per finished task) in a log."""

    WIDTH = 28

    def __init__(self, total: int, stream: TextIO | None = None, what: str = "replications"):
        """Progress over `total` tasks, written to `stream` (default: stdout)."""
        self.total, self.what = total, what
        self.stream = stream or sys.stdout
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self.started = time.perf_counter()
        self.done = self.failed = 0
        self._shown = False

    def begin(self, total: int) -> None:
        """Start counting `total` tasks (the bar shows at once on a terminal)."""
        self.total, self.done, self.failed = total, 0, 0
        self.started = time.perf_counter()
        if self.tty and total:
            self._bar()

    def finished(self, note: str, failed: bool = False) -> None:
        """Count one finished (or failed) task and show it."""
        self.done += 1
        self.failed += failed
        if self.tty:
            self._bar()
        else:
            print(f"[{self.done}/{self.total}] {note}", file=self.stream, flush=True)

    def message(self, text: str) -> None:
        """Print a line of its own (a failure, a note) without breaking the bar."""
        if self.tty and self._shown:
            print("\r" + " " * 100 + "\r", end="", file=self.stream)
        print(text, file=self.stream, flush=True)
        if self.tty and self._shown:
            self._bar()

    def close(self) -> None:
        """End the bar's line."""
        if self.tty and self._shown:
            print(file=self.stream, flush=True)
            self._shown = False

    def _bar(self) -> None:
        elapsed = time.perf_counter() - self.started
        frac = self.done / max(self.total, 1)
        filled = round(frac * self.WIDTH)
        left = elapsed / frac - elapsed if frac > 0 else 0.0
        failed = f" · {self.failed} failed" if self.failed else ""
        print(f"\r[{'#' * filled}{'-' * (self.WIDTH - filled)}] {self.done}/{self.total} {self.what} · "
              f"{_clock(elapsed)} elapsed · ~{_clock(left)} left{failed}   ", end="", file=self.stream, flush=True)
        self._shown = True


def _clock(seconds: float) -> str:
    seconds = int(round(seconds))
    return f"{seconds // 60}:{seconds % 60:02d}"
