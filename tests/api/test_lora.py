"""LoRA adapters over HTTP: both dialects name installed adapters (JSON, and the SDK's
multipart form), an unknown one is a 400 listing the installed, and the finished
generation's record lists the adapters it ran."""

from __future__ import annotations

import io
import json
from pathlib import Path

import httpx
import numpy as np
import openai
import pytest
from PIL import Image
from sqlalchemy import select

from cinegen.config import Settings
from cinegen.engine.engine import Engine
from cinegen.store.models import Generation, Task

from ..engine.test_lora import make_adapter
from .conftest import video_gen_ended

MODEL, I2V_MODEL = "wan-tiny-random", "ltx-video-tiny-random"
SMALL = {"type": "video_gen", "width": 32, "height": 16, "n_frames": 10, "seed": 4}


@pytest.fixture(scope="module")
def lora_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("loras")
    make_adapter(root / MODEL, "style-a", seed=1)
    make_adapter(root / MODEL, "detail", seed=2)
    make_adapter(root / I2V_MODEL, "style-a", family="ltx", seed=3)
    make_adapter(root / I2V_MODEL, "detail", family="ltx", seed=4)
    return root


@pytest.fixture(scope="module")
def engine(lora_dir: Path) -> Engine:
    """This module's own: a backend reads its adapters from the folder it was built with."""
    return Engine(Settings(lora_dir=lora_dir))


@pytest.fixture(scope="module")
def service_settings(lora_dir: Path) -> dict[str, object]:
    return {"lora_dir": lora_dir}


@pytest.fixture(scope="module")
def http(service) -> httpx.Client:
    key = service.key("lora")
    return httpx.Client(base_url=service.url, headers={"Authorization": f"Bearer {key}"})


def stored_loras(service, task_id: str) -> list[dict[str, object]] | None:
    with service.sessions() as session:
        task = session.get(Task, task_id)
        return task.spec["loras"]


@pytest.mark.slow  # renders
def test_a_video_gen_task_runs_its_loras_and_its_record_lists_them(http, service) -> None:
    loras = [{"name": "style-a", "scale": 0.7}]
    body = {**SMALL, "prompt": "a fox", "model": MODEL, "loras": loras}
    created = http.post("/backend/video_gen", json=body)
    assert created.status_code == 200, created.text
    task = video_gen_ended(http, created.json()["id"])
    assert task["status"] == "succeeded", task
    with service.sessions() as session:
        generation = session.scalars(
            select(Generation).where(Generation.task_id == task["id"])
        ).one()
        sidecar = json.loads((service.data_dir / generation.files["sidecar"]).read_text())
    assert sidecar["loras"] == loras


def test_video_gen_takes_the_text_form_too(http, service) -> None:
    body = {**SMALL, "prompt": "a fox", "model": MODEL, "loras": "style-a:0.5,detail"}
    created = http.post("/backend/video_gen", json=body)
    assert created.status_code == 200, created.text
    assert stored_loras(service, created.json()["id"]) == [
        {"name": "style-a", "scale": 0.5},
        {"name": "detail", "scale": 1.0},
    ]


def test_an_unknown_lora_is_a_400_listing_the_installed_in_both_dialects(http, service) -> None:
    body = {**SMALL, "prompt": "a fox", "model": MODEL, "loras": [{"name": "stlye-a"}]}
    refused = http.post("/backend/video_gen", json=body)
    assert refused.status_code == 400
    error = refused.json()["error"]
    assert error["param"] == "loras.0.name"
    assert "stlye-a" in error["message"] and "detail, style-a" in error["message"]
    client = openai.OpenAI(base_url=f"{service.url}/v1", api_key=service.key("sdk-lora-bad"))
    with pytest.raises(openai.BadRequestError) as caught:
        client.videos.create(
            prompt="a fox", model=MODEL, extra_body={"seed": 1, "loras": "stlye-a:1"}
        )
    assert caught.value.body["param"] == "loras.0.name"
    assert "detail, style-a" in caught.value.body["message"]


def test_a_path_or_a_scale_out_of_range_is_refused(http) -> None:
    for loras, param in (
        ([{"name": "../wan-tiny-random/style-a"}], "loras.0.name"),
        ([{"name": "style-a", "scale": 5}], "loras.0.scale"),
    ):
        refused = http.post(
            "/backend/video_gen", json={**SMALL, "prompt": "a fox", "model": MODEL, "loras": loras}
        )
        assert refused.status_code == 400, loras
        assert refused.json()["error"]["param"] == param


def test_loras_on_a_model_that_takes_none_names_the_models_that_can(http) -> None:
    body = {**SMALL, "prompt": "a red circle", "model": "cinegen-tiny", "loras": "style-a"}
    refused = http.post("/backend/video_gen", json=body)
    assert refused.status_code == 400
    error = refused.json()["error"]
    assert error["param"] == "loras"
    assert MODEL in error["message"] and "cinegen-tiny cannot take LoRA" in error["message"]


def test_the_openai_sdk_names_loras_in_json_and_in_a_multipart_form(service) -> None:
    client = openai.OpenAI(base_url=f"{service.url}/v1", api_key=service.key("sdk-lora"))
    loras = [{"name": "style-a", "scale": 0.5}]
    as_json = client.videos.create(
        prompt="a fox", model=MODEL, seconds="1", size="32x16",
        extra_body={"seed": 1, "loras": loras},
    )  # fmt: skip
    assert stored_loras(service, as_json.id) == loras
    png = io.BytesIO()
    Image.fromarray(np.full((16, 32, 3), 200, np.uint8)).save(png, format="PNG")
    # A file makes the SDK send multipart: the list arrives as loras[][name], loras[][scale].
    both = [{"name": "style-a", "scale": 0.5}, {"name": "detail", "scale": -1.0}]
    as_form = client.videos.create(
        prompt="a fox", model=I2V_MODEL, seconds="1", size="32x16",
        input_reference=("wall.png", png.getvalue(), "image/png"),
        extra_body={"seed": 1, "loras": both},
    )  # fmt: skip
    assert stored_loras(service, as_form.id) == both
