"""The content policy at the door, in both dialects: a refused request queues nothing."""

from __future__ import annotations

import httpx
import openai
import pytest

from cinegen.store import audit


def test_a_public_figure_prompt_is_refused_in_both_dialects(service):
    key = service.key("policy")
    client = openai.OpenAI(base_url=f"{service.url}/v1", api_key=key, max_retries=0)
    with pytest.raises(openai.BadRequestError) as caught:
        client.videos.create(
            prompt="Barack Obama dancing in a nightclub", size="160x96", extra_body={"seed": 1}
        )
    error = caught.value.body
    assert error["code"] == "content_policy_violation" and error["param"] == "prompt"
    assert "public-figures" in error["message"] and "Nothing was queued" in error["message"]

    sora = httpx.Client(base_url=service.url, headers={"Authorization": f"Bearer {key}"})
    refused = sora.post("/backend/video_gen", json={
        "prompt": "poll workers shredding ballots on election night", "n_frames": 30,
        "width": 160, "height": 96, "seed": 1})  # fmt: skip
    assert refused.status_code == 400, refused.text
    assert refused.json()["error"]["code"] == "content_policy_violation"
    assert "elections" in refused.json()["error"]["message"]
    assert client.videos.list().data == []  # nothing queued
    assert sora.get("/backend/video_gen").json()["task_responses"] == []
    with service.sessions() as session:  # each refusal is on the audit log, with its reasons
        refusals = [e for e in audit.read(session) if e.action == "policy.refuse"]
    assert [e.detail["categories"] for e in refusals] == [["public-figures"], ["elections"]]
    assert refusals[0].detail["prompt"] == "Barack Obama dancing in a nightclub"
