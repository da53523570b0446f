"""The work directory a tiny trainer resumes from: checkpoints and the log of its runs."""

from __future__ import annotations

import copy
import json

import torch
from torch import nn

from cinegen.models.tiny.checkpoint import Checkpoint, RunLog


def stage(path, seed: int) -> tuple[Checkpoint, nn.Linear, nn.Linear, torch.optim.Optimizer]:
    torch.manual_seed(seed)
    model, ema = nn.Linear(3, 2), nn.Linear(3, 2)
    opt = torch.optim.AdamW(model.parameters(), lr=0.1)
    return Checkpoint(path, opt, every=2, model=model, ema=ema), model, ema, opt


def test_a_fresh_stage_starts_at_step_zero_with_its_defaults(tmp_path):
    checkpoint, *_ = stage(tmp_path / "stage.pt", seed=0)
    assert checkpoint.resume(losses=[]) == {"step": 0, "losses": []}
    assert not (tmp_path / "stage.pt").exists()


def test_a_resumed_stage_has_the_weights_optimiser_and_extras_it_saved(tmp_path):
    checkpoint, model, ema, opt = stage(tmp_path / "stage.pt", seed=0)
    at_two: dict[str, dict[str, torch.Tensor]] = {}
    for step in (1, 2, 3):
        model(torch.ones(1, 3)).sum().backward()
        opt.step()
        checkpoint.save_if_due(step, total=10, losses=[float(step)])
        if step == 2:
            at_two = {n: copy.deepcopy(m.state_dict()) for n, m in (("model", model), ("ema", ema))}

    again, model2, ema2, opt2 = stage(tmp_path / "stage.pt", seed=1)  # other random weights
    assert again.resume(losses=[]) == {"step": 2, "losses": [2.0]}  # every 2 steps: not 3
    for name, module in (("model", model2), ("ema", ema2)):
        for key, tensor in module.state_dict().items():
            torch.testing.assert_close(tensor, at_two[name][key], rtol=0, atol=0)
    assert opt2.state_dict()["state"][0]["step"] == 2


def test_the_last_step_is_always_saved(tmp_path):
    checkpoint, *_ = stage(tmp_path / "stage.pt", seed=0)
    checkpoint.save_if_due(3, total=3)
    assert torch.load(tmp_path / "stage.pt")["step"] == 3


def test_the_run_log_keeps_every_invocation_that_trained_and_their_time(tmp_path):
    first: list[int] = []
    log = RunLog(tmp_path, command="cinegen one", settings={"steps": 4}, steps=first)
    log.save()  # nothing trained yet: no run written
    assert not (tmp_path / "runs.json").exists()
    first[:] = [0, 2]
    log.save()
    spent = json.loads((tmp_path / "wall_seconds.json").read_text())["seconds"]

    second: list[int] = []
    log = RunLog(tmp_path, command="cinegen two", settings={"steps": 4}, steps=second)
    second[:] = [2, 4]
    log.save()
    assert log.seconds() >= spent  # the time of every invocation so far
    made = log.made(seed=7, device="cpu")
    assert [run["command"] for run in made["runs"]] == ["cinegen one", "cinegen two"]
    assert [run["steps"] for run in made["runs"]] == [[0, 2], [2, 4]]
    assert made["command"] == "cinegen two" and made["seed"] == 7
    assert made["hardware"].startswith("CPU") and made["torch"] == torch.__version__
