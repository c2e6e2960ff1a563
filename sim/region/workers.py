"""Where a region's area groups run: in this process, or one per Dask worker.

Either way the region sees the same thing: `step(settings by area)` returns the reports by
area, in area order; `results` and `spans` likewise. On Dask each group is an actor living on
one worker (a local cluster of N single-threaded worker processes, or a running scheduler's
workers), so a worker holds only its own areas' residents.
"""

from __future__ import annotations

import socket
from contextlib import suppress

from sim.county.region_areas import AreaRun
from sim.region.group import AreaGroup
from sim.scenario.region_files import RegionPlan


# An area's day costs a part that does not grow with its residents (its facilities' arrays, the
# day's bookkeeping): measured on Dask workers, about 1.75 s a simulated year, as much as some
# 120,000 agents (bench/region_bench.py, Xinxiang and the synthetic region, December 2026).
AREA_FIXED_AGENTS = 120_000
PROFILER = "distributed.worker.profile.enabled"  # Dask's sampling profiler, on its workers and scheduler


def expected_work(run: AreaRun) -> float:
    """What stepping an area costs, in agents' worth: its agents and the fixed part of an area."""
    return run.area.population / run.timeline.base.scale + AREA_FIXED_AGENTS


def partition(runs: list[AreaRun], n: int) -> list[list[AreaRun]]:
    """Areas in n groups of about equal expected work (at most one group per area): the largest
    first, each to the lightest group so far. Each group is in area order, the groups by their first
    area; which areas share a worker never changes the numbers, only when the slowest worker ends."""
    n = max(1, min(n, len(runs)))
    groups: list[list[AreaRun]] = [[] for _ in range(n)]
    work = [0.0] * n
    for run in sorted(runs, key=lambda r: (-expected_work(r), r.index)):
        g = min(range(n), key=lambda k: (work[k], k))
        groups[g].append(run)
        work[g] += expected_work(run)
    return sorted((sorted(g, key=lambda r: r.index) for g in groups), key=lambda g: g[0].index)


def scheduler_problem(address: str, timeout: float = 5.0) -> str | None:
    """Why the Dask scheduler at `address` (tcp://HOST:PORT) cannot be reached, or None: a plain
    connection is tried, so a wrong address is found in seconds, before anything is built."""
    scheme, sep, rest = address.partition("://")
    if not sep:
        scheme, rest = "tcp", address
    host, colon, port = rest.rstrip("/").rpartition(":")
    if scheme not in ("tcp", "tls") or not colon or not host or not port.isdigit():
        return f"--scheduler {address}: allowed: tcp://HOST:PORT, e.g. tcp://10.0.0.5:8786"
    try:
        with socket.create_connection((host.strip("[]"), int(port)), timeout=timeout):
            pass
    except (OSError, ValueError) as err:
        reason = "no answer" if isinstance(err, TimeoutError) else (getattr(err, "strerror", None) or str(err))
        return (f"cannot reach the Dask scheduler at {address} ({reason}); allowed: the address of a running "
                "scheduler (`dask scheduler` prints it), or no --scheduler for a local cluster")
    return _no_workers_problem(address, timeout)


def _no_workers_problem(address: str, timeout: float) -> str | None:
    """Why a reachable address cannot run a region (not a Dask scheduler, or one with no workers
    after `timeout` seconds), or None."""
    from dask.distributed import Client

    try:
        client = Client(address, timeout=timeout)
    except Exception as err:  # noqa: BLE001  (whatever answers there is not a Dask scheduler)
        return (f"{address} does not answer as a Dask scheduler ({type(err).__name__}); allowed: the address "
                "`dask scheduler` prints")
    try:
        client.wait_for_workers(1, timeout=timeout)
        return None
    except TimeoutError:
        return (f"the Dask scheduler at {address} has no workers; allowed: a scheduler with workers "
                f"(on each machine: `dask worker {address} --nthreads 1`)")
    finally:
        client.close()


class LocalGroups:
    """The groups in this process, stepped one after another."""

    def __init__(self, groups: list[list[AreaRun]], plan: RegionPlan):
        self.groups = [AreaGroup(runs, plan) for runs in groups]
        self.members = [[run.index for run in runs] for runs in groups]

    def call(self, method: str, *per_group_args) -> list:
        """Call `method` on every group (with its own arguments) and join the answers in area order."""
        return self._in_area_order([getattr(group, method)(*(arg[k] for arg in per_group_args))
                                    for k, group in enumerate(self.groups)])

    def _in_area_order(self, answers: list[list]) -> list:
        out: list = [None] * sum(len(m) for m in self.members)
        for members, group_answers in zip(self.members, answers):
            for index, answer in zip(members, group_answers):
                out[index] = answer
        return out

    def close(self) -> None:
        """Nothing to release."""


class DaskGroups(LocalGroups):
    """One group per Dask worker, as an actor (see the module docstring)."""

    def __init__(self, runs: list[AreaRun], plan: RegionPlan, partitions: int | None = None,
                 scheduler: str | None = None):
        """`partitions` groups (None: one per worker of the scheduler) on a local cluster of that many
        workers, or on the running cluster at `scheduler`."""
        import dask
        from dask.distributed import Client, LocalCluster

        self.cluster = None
        if scheduler is None:
            # Dask's sampling profiler (every 10 ms, in every worker and the scheduler) takes the GIL
            # from the stepping areas: off on the clusters TierFlow starts (measured: docs/regions.md).
            with dask.config.set({PROFILER: False}):
                self.cluster = LocalCluster(n_workers=len(partition(runs, partitions or 1)), threads_per_worker=1,
                                            processes=True, dashboard_address=None, memory_limit=0)
            self.client = Client(self.cluster)
        else:
            self.client = Client(scheduler, timeout=20)
        workers = sorted(self.client.scheduler_info()["workers"])
        groups = partition(runs, partitions or len(workers))
        futures = [self.client.submit(AreaGroup, group, plan, actor=True, workers=[workers[k % len(workers)]],
                                      pure=False) for k, group in enumerate(groups)]
        self.groups = [f.result() for f in futures]
        self.members = [[run.index for run in group] for group in groups]

    def call(self, method: str, *per_group_args) -> list:
        """As `LocalGroups.call`, every worker at once."""
        futures = [getattr(group, method)(*(arg[k] for arg in per_group_args)) for k, group in enumerate(self.groups)]
        return self._in_area_order([f.result() for f in futures])

    def close(self) -> None:
        """Release the actors and the client (and the local cluster, if this made one)."""
        self.groups = []
        with suppress(Exception):
            self.client.close()
        if self.cluster is not None:
            with suppress(Exception):
                self.cluster.close()
