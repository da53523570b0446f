"""`cinegen train-tiny-audio`: a stopped run resumes from its checkpoint to the weights an
unbroken run makes, and the bundle records every run."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from safetensors.torch import load_file

from cinegen.models.tiny import audionet

pytestmark = pytest.mark.slow  # trains (seconds)


def train_tiny_audio(workdir, steps: int) -> subprocess.CompletedProcess[str]:
    args = ["--workdir", str(workdir), "--steps", str(steps), "--batch", "2", "--pool", "2"]
    return subprocess.run(
        [sys.executable, "-m", "cinegen", "train-tiny-audio", *args, "--threads", "1"],
        cwd=workdir.parent,
        env={**os.environ, "HF_HUB_OFFLINE": "1"},
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_two_steps_then_two_more_make_the_weights_of_four(tmp_path):
    for steps in (2, 4):
        run = train_tiny_audio(tmp_path / "resumed", steps)
        assert run.returncode == 0, run.stderr
    run = train_tiny_audio(tmp_path / "unbroken", 4)
    assert run.returncode == 0, run.stderr
    bundles = [tmp_path / name / "bundle" for name in ("resumed", "unbroken")]
    resumed, unbroken = (load_file(str(b / audionet.WEIGHTS_NAME)) for b in bundles)
    assert resumed.keys() == unbroken.keys()
    assert all((resumed[k] == unbroken[k]).all() for k in resumed)
    record = json.loads((bundles[0] / audionet.RECORD_NAME).read_text())
    assert [run["steps"] for run in record["runs"]] == [[0, 2], [2, 4]]
    assert record["command"].startswith("cinegen train-tiny-audio") and record["steps"] == 4
    assert record["bytes"] <= audionet.MAX_BYTES
    audionet.load(bundles[0])  # its sha256 matches
