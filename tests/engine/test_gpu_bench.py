"""bench/gpu.py, the GPU figures script, run on the CPU with the tiny twins so it does not rot
between the times a GPU is lent: a row per model with seconds in it, the device named, a step
cache diffusers cannot hook on a model reported "n/a" and the run going on."""

from __future__ import annotations

import importlib.util
import json
import re
from pathlib import Path
from types import ModuleType

import pytest

from cinegen.engine.backends.diffusers import fullsize

pytestmark = pytest.mark.usefixtures("one_thread")

SCRIPT = Path(__file__).parents[2] / "bench" / "gpu.py"


def bench() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench_gpu", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_tiny_twins_fill_a_row_each_on_the_cpu(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "gpu.json"
    result = bench().main(
        ["--tiny", "--device", "cpu", "--models", "wan,skyreels-v2", "--steps", "2",
         "--frames", "5", "--size", "32x32", "--compile-backend", "eager", "--json", str(out)]
    )  # fmt: skip
    printed = capsys.readouterr().out.splitlines()
    assert printed[0].startswith("bench/gpu.py on cpu (")
    rows = {line.split("|")[0].strip(): line for line in printed[3:]}
    assert list(rows) == ["wan", "skyreels-v2"]
    for line in rows.values():
        cells = [c.strip() for c in line.split("|")]
        assert cells[1] == "32x32x5"  # the size and frames asked
        assert re.fullmatch(r"\d+\.\d{3}", cells[4]), cells  # seconds per step
        assert float(cells[4]) > 0
        assert cells[-1] == "-"  # no error
    # SkyReels-V2's blocks are not registered for FirstBlockCache: n/a, and the row goes on.
    skyreels = next(r for r in result["rows"] if r["model"] == "skyreels-v2")
    assert skyreels["FirstBlockCache"] == "n/a"
    assert "not registered" in skyreels["why"]["FirstBlockCache"]
    assert isinstance(skyreels["TaylorSeer"], float)
    assert json.loads(out.read_text())["device"].startswith("cpu")


def test_a_model_that_fails_prints_its_error_in_its_row(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    module = bench()

    def broken(model: str, args: object) -> None:
        raise RuntimeError("CUDA out of memory")

    monkeypatch.setattr(module, "load", broken)
    result = module.main(["--tiny", "--device", "cpu", "--models", "wan,ltx-video"])
    assert [r["error"] for r in result["rows"]] == ["RuntimeError: CUDA out of memory"] * 2
    assert capsys.readouterr().out.count("RuntimeError: CUDA out of memory") == 2


def test_an_unknown_model_is_refused_with_the_allowed_ones() -> None:
    with pytest.raises(SystemExit):
        bench().arguments(["--models", "sora"])


@pytest.mark.parametrize("model", list(fullsize.FULL))
def test_the_shapes_it_builds_count_the_published_parameters(model: str) -> None:
    """What the bench times on a GPU is the published model: its transformer and VAE, built
    on the meta device (no memory, no weights), count what footprints.py cites."""
    full = fullsize.FULL[model]
    transformer = fullsize.build_module(full.transformer, full.config, "meta")
    vae = fullsize.build_module(*full.vae, "meta")
    assert fullsize.param_count(transformer) == pytest.approx(full.footprint.transformer, rel=0.01)
    assert fullsize.param_count(vae) == pytest.approx(full.footprint.vae, rel=0.01)


def test_pyramid_flow_fills_its_row_through_its_own_backend(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Pyramid Flow is a backend of our own: its row times steps, its blocks compile, and the
    diffusers step caches say "n/a" with why (its transformer is no diffusers model)."""
    result = bench().main(
        ["--tiny", "--device", "cpu", "--models", "pyramid-flow", "--steps", "2",
         "--frames", "9", "--size", "64x64", "--compile-backend", "eager"]
    )  # fmt: skip
    printed = capsys.readouterr().out.splitlines()
    cells = [c.strip() for c in printed[3].split("|")]
    assert cells[:2] == ["pyramid-flow", "64x64x9"]
    (row,) = result["rows"]
    assert "error" not in row, row
    assert row["attention"] == "sdpa"
    assert isinstance(row["step_s"], float) and row["step_s"] > 0
    assert isinstance(row["compiled"], float) and row["compiled"] > 0
    for cache in ("FirstBlockCache", "MagCache", "TaylorSeer"):
        assert row[cache] == "n/a"
        assert "not a diffusers transformer" in row["why"][cache]
