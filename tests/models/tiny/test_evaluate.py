"""`cinegen eval-tiny`: every split scored at both presets, with turbo's measured speed-up."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from cinegen.models.tiny.evaluate import SPLITS, cases
from cinegen.models.tiny.toyworld import is_heldout

pytestmark = pytest.mark.slow  # runs eval-tiny


def eval_tiny(*args: str, cwd) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "cinegen", "eval-tiny", *args],
        cwd=cwd,
        env={**os.environ, "HF_HUB_OFFLINE": "1"},
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_prompt_splits_are_fixed_by_the_seed_and_hold_what_they_say():
    a, b = cases(6, seed=3), cases(6, seed=3)
    assert [c.prompt for c in a] == [c.prompt for c in b]
    assert [c.prompt for c in a] != [c.prompt for c in cases(6, seed=4)]
    assert [c.split for c in a] == [s for s in SPLITS for _ in range(6)]
    heldout = [c for c in a if c.split == "heldout"]
    assert all(is_heldout(c.scene) for c in heldout)
    assert not any(is_heldout(c.scene) for c in a if c.split != "heldout")


def test_eval_tiny_prints_one_json_object_with_every_split(tmp_path, mini_bundle):
    run = eval_tiny("--prompts", "2", "--json", "--weights", str(mini_bundle), cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    result = json.loads(run.stdout)
    assert result["prompts_per_split"] == 2 and result["reader"] is True  # as generate reads
    for row in ("reference", "quality", "turbo"):
        assert set(result[row]["accuracy"]) == set(SPLITS)
        for split in SPLITS:
            accuracy = result[row]["accuracy"][split]
            assert set(accuracy) == {"background", "color", "shape", "motion", "overall"}
            assert all(0 <= v <= 1 for v in accuracy.values())
    assert result["reference"]["accuracy"]["seen"]["overall"] >= 0.75  # the ruler reads truth
    assert result["quality"]["steps"] > result["turbo"]["steps"]
    # The speed-up is reported, not asserted: a timing on a shared CI machine is noise (the
    # figure that counts comes from a whole eval-tiny run, README).
    assert result["turbo_speedup"] > 0 and result["quality"]["seconds"] > 0


def test_eval_tiny_names_a_missing_bundle(tmp_path):
    run = eval_tiny("--weights", str(tmp_path / "none"), cwd=tmp_path)
    assert run.returncode == 1 and "train-tiny" in run.stderr


def test_eval_tiny_scores_the_network_with_and_without_the_reader_in_one_run(tmp_path, mini_bundle):
    run = eval_tiny(
        *("--prompts", "1", "--split", "paraphrase", "--compare-reader", "--json"),
        *("--weights", str(mini_bundle)),
        cwd=tmp_path,
    )
    assert run.returncode == 0, run.stderr
    result = json.loads(run.stdout)
    assert result["splits"] == ["paraphrase"]
    without = result["quality_no_reader"]
    assert without["steps"] == result["quality"]["steps"] and without["seconds"] > 0
    # Only the asked split was rendered: the others score nothing.
    assert result["reference"]["accuracy"]["paraphrase"]["overall"] > 0
    assert result["reference"]["accuracy"]["seen"]["overall"] == 0


def test_eval_tiny_names_the_splits_it_knows(tmp_path):
    run = eval_tiny("--split", "typo", cwd=tmp_path)
    assert run.returncode == 2 and "seen, heldout, paraphrase" in run.stderr
