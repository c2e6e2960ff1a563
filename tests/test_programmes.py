"""Policy programmes as modules: the model calls each one's hooks in order, and no day stage
holds the model."""

from __future__ import annotations

from sim.engine.model import TierFlowModel
from sim.engine.programmes import Programme
from sim.scenario.schema import Timeline
from tests.conftest import small_scenario


class Recorder(Programme):
    """A lever that only records what the model asks of it."""

    def __init__(self):
        self.calls: list[tuple] = []

    def configure(self, params):
        super().configure(params)
        self.calls.append(("configure", params.signing.target_rate))

    def on_change(self, old, new, day):
        self.calls.append(("on_change", old.signing.target_rate, new.signing.target_rate, day))

    def step(self, day):
        self.calls.append(("step", day))

    def finish_step(self, day):
        self.calls.append(("finish_step", day))


def test_a_programme_sees_set_up_change_and_each_day():
    base = small_scenario(population=2000, days=6)
    changed = base.model_copy(update={"signing": base.signing.model_copy(update={"target_rate": 0.7})})
    model = TierFlowModel(Timeline(base=base, changes=[(3, "more signing", changed)]), agents=False)
    recorder = Recorder()
    model.programmes.append(recorder)
    recorder.configure(model.params)
    model.run()
    calls = [c for c in recorder.calls if c[0] != "step" and c[0] != "finish_step"]
    assert calls == [("configure", base.signing.target_rate),
                     ("on_change", base.signing.target_rate, 0.7, 3), ("configure", 0.7)]
    days = [c[1] for c in recorder.calls if c[0] == "step"]
    assert days == list(range(-model.warmup, 6))
    assert days == [c[1] for c in recorder.calls if c[0] == "finish_step"]
    assert recorder.params.signing.target_rate == 0.7


def test_no_stage_holds_the_model():
    model = TierFlowModel(small_scenario(population=2000, days=3), agents=False)
    stages = [model.residents, model.billing, model.choice, model.flow, *model.programmes]
    for stage in stages:
        assert not any(isinstance(v, TierFlowModel) for v in vars(stage).values()), type(stage).__name__
