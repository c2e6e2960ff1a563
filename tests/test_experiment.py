"""Replications: paired seeds, self-contained tasks, the same numbers on any executor, robust runs."""

from __future__ import annotations

import io
import pickle
import shutil
from dataclasses import replace

import numpy as np
import pytest

from sim.studies.executors import Progress, open_pool
from sim.studies.experiment import (ReplicationStore, Task, flat_indicators, make_task, replication_seeds, run_replication,
                            run_tasks, timeline_data)
from sim.engine.model import TierFlowModel
from sim.scenario.loader import Timeline
from sim.studies.stats import interval
from tests.conftest import SCENARIOS, load_small, small_scenario

SMALL = ("world.population=3000", "warmup_days=10")
EARLY = {"baseline.yaml": SMALL, "xinxiang_2025.yaml": SMALL + ("changes.0.day=20",)}  # the policy on day 20


def _tasks(days: int = 60, reps: int = 2) -> list[Task]:
    """Base and policy, replication by replication, with paired seeds."""
    seeds = replication_seeds(99, reps)
    return [make_task(SCENARIOS / name, seed=seed, replication=i, overrides=sets, days=days)
            for i, seed in enumerate(seeds) for name, sets in EARLY.items()]


def _same(a, b) -> bool:
    """Two results hold the same numbers (summary and every daily column)."""
    if a.summary != b.summary:
        return False
    if (a.daily is None) != (b.daily is None):
        return False
    return a.daily is None or all(np.array_equal(a.daily[k], b.daily[k]) for k in a.daily)


class Quiet(Progress):
    """Progress that prints nothing."""

    def __init__(self):
        super().__init__(0, stream=io.StringIO())


def test_seeds_are_paired_stable_as_replications_grow_and_distinct():
    seeds = replication_seeds(2025, 8)
    assert replication_seeds(2025, 3) == seeds[:3]          # adding replications keeps earlier seeds
    assert len(set(seeds)) == 8 and replication_seeds(2026, 8) != seeds
    assert all(0 <= s < 2**63 for s in seeds)               # valid scenario seeds
    tasks = _tasks(reps=3)
    for i in range(3):                                       # replication i: one seed for every scenario
        assert {t.seed for t in tasks if t.replication == i} == {replication_seeds(99, 3)[i]}


def test_mesa_agents_do_not_change_any_number():
    scenario = small_scenario(population=2000, days=40, seed=3)
    with_agents = TierFlowModel(scenario, agents=True).run().daily()
    without = TierFlowModel(scenario, agents=False).run().daily()
    assert all(np.array_equal(with_agents[c], without[c]) for c in with_agents)


def test_a_task_is_picklable_and_needs_no_scenario_file(tmp_path):
    copy = shutil.copytree(SCENARIOS, tmp_path / "scenarios")
    task = make_task(copy / "xinxiang_2025.yaml", seed=5, overrides=EARLY["xinxiang_2025.yaml"], days=40)
    shutil.rmtree(copy)
    again = pickle.loads(pickle.dumps(task))
    assert again == task and again.fingerprint == task.fingerprint
    assert _same(run_replication(again), run_replication(task))
    assert replace(task, seed=6).fingerprint != task.fingerprint


def test_policy_and_base_share_their_random_numbers_until_the_policy_starts():
    """Common random numbers: same seed, same illnesses and choices until the dated change (day 183)."""
    base = run_replication(make_task(SCENARIOS / "baseline.yaml", seed=11, overrides=SMALL, days=190))
    policy = run_replication(make_task(SCENARIOS / "xinxiang_2025.yaml", seed=11, overrides=SMALL, days=190))
    for column in base.daily:
        assert np.array_equal(base.daily[column][:183], policy.daily[column][:183]), column
    assert not np.array_equal(base.daily["visits_tertiary_resident"], policy.daily["visits_tertiary_resident"])


def test_a_window_gives_the_models_own_before_and_after_figures():
    timeline = load_small("xinxiang_2025.yaml", *SMALL[1:], seed=4, population=3000, days=200)
    whole = run_replication(Task("x", 0, 4, timeline_data(timeline, 4)))
    after = run_replication(Task("x", 0, 4, timeline_data(timeline, 4), window=(183, 200)))
    before = run_replication(Task("x", 0, 4, timeline_data(timeline, 4), window=(0, 183)))
    assert flat_indicators(after.summary) == flat_indicators(whole.summary["periods"]["after"])
    assert flat_indicators(before.summary) == flat_indicators(whole.summary["periods"]["before"])
    assert len(after.daily["day"]) == 200


@pytest.mark.slow
def test_same_numbers_in_process_on_two_workers_and_on_dask(tmp_path):
    from distributed import LocalCluster

    tasks = _tasks(days=50, reps=2)
    outcomes = {}
    for name, workers in (("one", 1), ("two", 2)):
        with open_pool(workers) as pool:
            outcomes[name] = run_tasks(tasks, pool, progress=Quiet())
    with LocalCluster(n_workers=1, threads_per_worker=2, processes=False, dashboard_address=None) as cluster:
        with open_pool(scheduler=cluster.scheduler_address) as pool:
            assert pool.description.startswith("Dask")
            outcomes["dask"] = run_tasks(tasks, pool, progress=Quiet())
    one = outcomes["one"].results
    assert list(one) == [t.key for t in tasks]               # ordered by task, not by completion
    for name in ("two", "dask"):
        other = outcomes[name].results
        assert list(other) == list(one) and outcomes[name].complete
        assert all(_same(one[k], other[k]) for k in one), name


def _fail_on_seed(seed):
    def run(task):
        if task.seed == seed and task.scenario == "xinxiang_2025":
            raise RuntimeError("injected failure")
        return run_replication(task)
    return run


def test_a_failing_replication_is_reported_with_its_seed_and_the_others_finish(tmp_path):
    tasks = _tasks(days=40, reps=2)
    bad = tasks[1]  # xinxiang_2025, replication 0
    store = ReplicationStore(tmp_path)
    with open_pool(1) as pool:
        outcome = run_tasks(tasks, pool, store, progress=Quiet(), fn=_fail_on_seed(bad.seed))
    assert [f.task.key for f in outcome.failures] == [bad.key]
    text = outcome.failures[0].describe()
    assert "xinxiang_2025" in text and str(bad.seed) in text and "injected failure" in text
    assert "Traceback" in outcome.failures[0].details
    assert set(outcome.results) == {t.key for t in tasks} - {bad.key} and not outcome.complete
    assert store.load(bad) is None and all(store.load(t) is not None for t in tasks if t is not bad)


def test_interrupted_run_resumes_to_exactly_the_uninterrupted_result(tmp_path):
    tasks = _tasks(days=40, reps=2)
    with open_pool(1) as pool:
        reference = run_tasks(tasks, pool, ReplicationStore(tmp_path / "ref"), progress=Quiet())
    calls = []

    def interrupt_third(task):
        calls.append(task.key)
        if len(calls) == 3:
            raise KeyboardInterrupt  # Ctrl-C while the third replication runs
        return run_replication(task)

    store = ReplicationStore(tmp_path / "cut")
    with open_pool(1) as pool:
        cut = run_tasks(tasks, pool, store, progress=Quiet(), fn=interrupt_third)
    assert cut.interrupted and len(cut.results) == 2
    with open_pool(1) as pool:
        resumed = run_tasks(tasks, pool, store, resume=True, progress=Quiet())
    assert resumed.stored == 2 and resumed.complete
    assert {k: r.summary for k, r in resumed.results.items()} == {k: r.summary for k, r in reference.results.items()}
    for task in tasks:
        assert (store.path(task) / "daily.csv").read_bytes() == \
            (ReplicationStore(tmp_path / "ref").path(task) / "daily.csv").read_bytes()


def test_stored_replications_read_back_exactly_and_other_inputs_are_not_reused(tmp_path):
    task = _tasks(days=30, reps=1)[0]
    result = run_replication(task)
    store = ReplicationStore(tmp_path)
    store.save(task, result)
    assert store.load(task).summary == result.summary
    header, rows = store.daily_rows(task)
    assert [float(x) for x in rows[7]] == [float(result.daily[c][7]) for c in header]
    changed = replace(task, timeline={**task.timeline, "overrides": ["something else"]})
    assert store.load(changed) is None
    assert not list(store.root.glob("*/.*"))  # no temporary folders left


def test_t_interval_matches_the_textbook():
    iv = interval([1.0, 2.0, 3.0, 4.0])
    half = 3.182446305284263 * np.std([1, 2, 3, 4], ddof=1) / 2  # t(0.975, 3) s / sqrt(4)
    assert iv.mean == 2.5 and iv.half_width == pytest.approx(half) and iv.excludes_zero
    assert np.isnan(interval([1.0]).half_width)
    assert not interval([-1.0, 1.0, 0.5]).excludes_zero


def test_timeline_data_rebuilds_the_same_timeline():
    from sim.studies.experiment import timeline_from_data

    timeline = load_small("xinxiang_2025.yaml", seed=1, population=3000, days=200)
    again = timeline_from_data(timeline_data(timeline))
    assert isinstance(again, Timeline) and again.base == timeline.base and again.changes == timeline.changes
