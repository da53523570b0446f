"""`cinegen train-tiny` in miniature: the loss falls, a stopped run resumes exactly."""

from __future__ import annotations

import copy
import json
import subprocess
import sys

import numpy as np
import pytest
import torch
from safetensors.torch import load_file

from cinegen.errors import ModelLoadError, SpecError
from cinegen.models.tiny import weights
from cinegen.models.tiny.train import train

from .conftest import MINI, mini_settings

pytestmark = pytest.mark.slow  # trains


def test_transformer_loss_falls(mini_bundle):
    state = torch.load(mini_bundle.parent / "transformer.pt")
    losses = state["losses"]
    assert len(losses) == 40 and state["step"] == 40
    assert sum(losses[-10:]) / 10 < 0.8 * sum(losses[:5]) / 5


def test_bundle_records_how_it_was_made(mini_bundle):
    record = json.loads((mini_bundle / weights.RECORD_NAME).read_text())
    assert record["seed"] == 0 and record["steps"] == {
        "autoencoder": 30,
        "detail": 20,
        "transformer": 40,
    }
    assert record["config"]["width"] == MINI.width and record["wall_seconds"] > 0
    assert record["hardware"].startswith("CPU") and record["command"].startswith("cinegen")
    tensors = load_file(str(mini_bundle / weights.WEIGHTS_NAME))
    assert all(t.dtype == torch.float16 for k, t in tensors.items() if not k.startswith("latent"))
    assert record["bytes"] == (mini_bundle / weights.WEIGHTS_NAME).stat().st_size


class Stop(Exception):
    pass


def test_a_stopped_run_resumes_to_the_same_weights(tmp_path, mini_bundle):
    def stop_at(where):
        def progress(stage, done, total, stats):
            if (stage, done) == where:  # checkpoints every 10 steps
                raise Stop

        return progress

    settings = mini_settings(tmp_path)
    for where in (("detail", 15), ("transformer", 25)):
        with pytest.raises(Stop):
            train(settings, stop_at(where))
    assert torch.load(tmp_path / "transformer.pt")["step"] == 20
    train(settings, lambda *a: None, out=tmp_path / "bundle", command="cinegen resumed")
    resumed = load_file(str(tmp_path / "bundle" / weights.WEIGHTS_NAME))
    straight = load_file(str(mini_bundle / weights.WEIGHTS_NAME))
    assert resumed.keys() == straight.keys()
    for name, tensor in straight.items():
        torch.testing.assert_close(resumed[name], tensor, rtol=0, atol=0, msg=name)
    runs = json.loads((tmp_path / "bundle" / weights.RECORD_NAME).read_text())["runs"]
    assert [run["steps"] for run in runs] == [
        {"autoencoder": [0, 30], "detail": [0, 10]},  # up to its last checkpoint
        {"detail": [10, 20], "transformer": [0, 20]},
        {"transformer": [20, 40]},
    ]
    assert runs[2]["command"] == "cinegen resumed" and runs[2]["settings"]["dit_steps"] == 40


def test_a_bundle_from_before_the_detail_image_loads_and_decodes_as_it_did(tmp_path, mini_bundle):
    from safetensors.torch import save_file

    tensors = load_file(str(mini_bundle / weights.WEIGHTS_NAME))
    older = {k: v for k, v in tensors.items() if ".detail" not in k}
    assert len(older) < len(tensors)
    save_file(older, str(tmp_path / weights.WEIGHTS_NAME))
    record = json.loads((mini_bundle / weights.RECORD_NAME).read_text())
    record["sha256"] = weights.sha256_file(tmp_path / weights.WEIGHTS_NAME)
    (tmp_path / weights.RECORD_NAME).write_text(json.dumps(record))
    ae = weights.load(tmp_path).autoencoder
    latents = torch.randn(2, MINI.latent_channels, MINI.latent_size, MINI.latent_size)
    with torch.no_grad():
        torch.testing.assert_close(ae.decode(latents), ae.decoder(latents))  # detail: zero


def test_a_damaged_weight_file_is_refused(tmp_path, mini_bundle):
    for name in (weights.WEIGHTS_NAME, weights.RECORD_NAME):
        (tmp_path / name).write_bytes((mini_bundle / name).read_bytes())
    data = bytearray((tmp_path / weights.WEIGHTS_NAME).read_bytes())
    data[-1] ^= 0xFF
    (tmp_path / weights.WEIGHTS_NAME).write_bytes(bytes(data))
    with pytest.raises(ModelLoadError, match="does not match its record"):
        weights.load(tmp_path)
    with pytest.raises(ModelLoadError, match="train-tiny"):
        weights.load(tmp_path / "missing")


def test_object_latents_weigh_more_in_the_transformer_loss(mini_bundle):
    from cinegen.models.tiny.network import AutoEncoder
    from cinegen.models.tiny.text import shared_encoder
    from cinegen.models.tiny.toyworld import background_image, render_clip
    from cinegen.models.tiny.train import background_latents, build_latents, dit_batch

    workdir = mini_bundle.parent
    settings = mini_settings(workdir, foreground_weight=4.0)
    ae = AutoEncoder(MINI)
    ae.load_state_dict(torch.load(workdir / "autoencoder.pt")["model"])
    latents, mean, std, scenes = build_latents(settings, ae.eval(), lambda *a: None)
    bare = background_latents(ae, MINI, mean, std, "cpu")
    batch = dit_batch(settings, 0, latents, scenes, bare, shared_encoder())
    assert set(batch.weight.unique().tolist()) <= {1.0, 4.0}

    on_object, far_away = [], []
    for row, i in enumerate(batch.clips):
        clip = render_clip(scenes[i], MINI.frames, MINI.size).astype(np.float32)
        drawn = np.abs(clip - background_image(scenes[i].background, MINI.size)).max(-1) > 8
        cells = drawn.reshape(MINI.frames, 8, 8, 8, 8).mean((2, 4))  # share of each latent cell
        near = torch.nn.functional.max_pool2d(
            torch.from_numpy(cells).float()[:, None], 5, stride=1, padding=2
        )[:, 0].numpy()
        weight = batch.weight[row, :, 0].numpy()
        on_object.append(weight[cells > 0.5])
        far_away.append(weight[near == 0])
    # Nearly every object cell is marked; most of the bare background is not (a briefly
    # trained autoencoder's group norms still carry a little of the object everywhere).
    assert np.mean(np.concatenate(on_object) == 4.0) > 0.95
    assert np.mean(np.concatenate(far_away) == 1.0) > 0.75


def test_the_detail_stage_draws_the_night_stars_and_keeps_the_latents(tmp_path, mini_bundle):
    """The plain decoder loses the night's one-pixel stars; the detail stage brings them back
    without moving a latent (the transformer trained on stage 1's latents stays valid)."""
    from cinegen.models.tiny.network import AutoEncoder
    from cinegen.models.tiny.toyworld import background_image
    from cinegen.models.tiny.train_autoencoder import background_detail, train_detail
    from cinegen.models.tiny.train_settings import to_unit
    from cinegen.models.tiny.vocab import Background

    plain = AutoEncoder(MINI)
    plain.load_state_dict(torch.load(mini_bundle.parent / "autoencoder.pt")["model"])
    settings = mini_settings(tmp_path, detail_steps=200, ae_batch=32)
    detailed = train_detail(settings, copy.deepcopy(plain), lambda *a: None)

    night = background_image(Background.NIGHT, MINI.size)
    stars = background_detail(Background.NIGHT, MINI.size)
    assert stars.sum() == 22
    frame = to_unit(np.round(night).astype(np.uint8)[None])
    shortfall = {}
    with torch.no_grad():
        latents = {"plain": plain.eval().encode(frame), "detailed": detailed.encode(frame)}
        for name, ae in (("plain", plain), ("detailed", detailed)):
            pixels = (ae.decode(latents[name])[0].clamp(-1, 1) + 1) * 127.5
            shortfall[name] = night[stars].mean() - pixels.movedim(0, -1).numpy()[stars].mean()
    torch.testing.assert_close(latents["detailed"], latents["plain"], rtol=0, atol=0)
    assert shortfall["plain"] > 100 and shortfall["detailed"] < 75


def _tensors(bundle):
    return load_file(str(bundle / weights.WEIGHTS_NAME))


def test_a_continued_bundle_trains_on_from_its_weights_and_says_so(tmp_path, mini_bundle):
    """`--init-from`: the autoencoder and latent statistics as they were, the transformer
    trained on from its own weights (at learning rate 0 it stays exactly as it was), the
    record naming what it continued; stopped and resumed, it ends where an unbroken one does."""
    base = _tensors(mini_bundle)
    still = train(
        mini_settings(tmp_path / "still", init_from=mini_bundle, dit_steps=50, lr=0.0),
        lambda *a: None,
    )
    for name, tensor in _tensors(still.parent).items():
        torch.testing.assert_close(tensor, base[name], rtol=0, atol=0, msg=name)

    settings = mini_settings(tmp_path / "on", init_from=mini_bundle, dit_steps=60)
    with pytest.raises(Stop):  # checkpoints every 10 steps: the last one is at 50
        train(settings, lambda stage, done, total, stats: _stop_at(done, 55))
    unbroken = train(
        mini_settings(tmp_path / "unbroken", init_from=mini_bundle, dit_steps=60), lambda *a: None
    )
    on = train(settings, lambda *a: None, command="cinegen resumed")
    trained, straight = _tensors(on.parent), _tensors(unbroken.parent)
    for name, tensor in trained.items():
        torch.testing.assert_close(tensor, straight[name], rtol=0, atol=0, msg=name)
        if not name.startswith("transformer"):
            torch.testing.assert_close(tensor, base[name], rtol=0, atol=0, msg=name)
    moved = [n for n in trained if n.startswith("transformer") and not trained[n].equal(base[n])]
    assert len(moved) > 10

    record = json.loads((on.parent / weights.RECORD_NAME).read_text())
    base_record = json.loads((mini_bundle / weights.RECORD_NAME).read_text())
    assert record["steps"] == {"autoencoder": 30, "detail": 20, "transformer": 60}
    assert record["continued_from"]["sha256"] == base_record["sha256"]
    assert record["continued_from"]["runs"] == base_record["runs"]
    assert [run["steps"] for run in record["runs"]] == [
        {"transformer": [40, 50]},  # up to its last checkpoint
        {"transformer": [50, 60]},
    ]
    made = record["runs"][0]["settings"]
    assert made["init_from_sha256"] == base_record["sha256"] and "ae_steps" not in made


def _stop_at(done: int, step: int) -> None:
    if done == step:
        raise Stop


def test_continuing_asks_for_more_steps_than_the_bundle_has(tmp_path, mini_bundle):
    with pytest.raises(SpecError, match="trained 40 transformer steps already") as refused:
        train(mini_settings(tmp_path, init_from=mini_bundle, dit_steps=40), lambda *a: None)
    assert refused.value.field == "steps" and not (tmp_path / "transformer.pt").exists()


def test_the_command_continues_the_shipped_weights_only_past_their_steps(tmp_path):
    args = ["--init-from", "shipped", "--steps", "100", "--workdir", str(tmp_path)]
    run = subprocess.run(
        [sys.executable, "-m", "cinegen", "train-tiny", *args],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 2, run.stderr
    assert "trained 12000 transformer steps already" in run.stderr
    assert "allowed: more than 12000" in run.stderr and "Traceback" not in run.stderr
