"""``cinegen worker --gpus``: a group where the model splits a video over GPUs, one worker
per GPU where it cannot (said on the terminal), and a clear refusal for ids this machine
does not have. The group itself runs in tests/jobs/test_group.py (gloo, on the CPU)."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from cinegen.cli import app
from cinegen.cli.gpus import plan_gpus


def test_a_model_that_splits_gets_one_worker_over_the_gpus() -> None:
    plan = plan_gpus("0,1,2,3", "wan-2.2-t2v", available=8)
    assert plan.group and plan.devices == ["0", "1", "2", "3"]


def test_a_model_that_cannot_split_gets_one_worker_per_gpu_and_says_which_can() -> None:
    plan = plan_gpus("2, 3", "cogvideox", available=4)
    assert not plan.group and plan.devices == ["2", "3"]
    assert "cogvideox cannot split" in plan.note and "ltx-video" in plan.note
    assert "wan-tiny-random" not in plan.note  # the test twins are not offered
    assert not plan_gpus("1", "wan", available=2).group  # one GPU: a plain worker


@pytest.mark.parametrize(
    ("text", "model", "available", "says"),
    [
        ("0,x", "wan", 2, "give GPU ids separated by commas"),
        ("0,0", "wan", 2, "each GPU once"),
        ("0,2", "wan", 2, "no GPU 2 here; this machine has 2 (ids 0..1)"),
        ("0,1", "wan", 0, "no GPU that torch can use"),
        ("0,1", "wan-3", 2, "--model 'wan-3' is not a model here; choose one of"),
    ],
)
def test_what_cannot_run_is_refused_saying_what_to_change(text, model, available, says) -> None:
    with pytest.raises(ValueError, match=says.replace("(", r"\(").replace(")", r"\)")):
        plan_gpus(text, model, available)


def test_the_command_refuses_with_exit_code_2_on_a_machine_without_gpus(tmp_path) -> None:
    result = CliRunner().invoke(
        app, ["worker", "--gpus", "0,1"], env={"CINEGEN_DATA_DIR": str(tmp_path)}
    )
    assert result.exit_code == 2
    assert "no GPU that torch can use" in result.output
