"""API keys over HTTP, as an admin (and the studio's Admin page) meets them: a new key works
at once and its secret is shown once, a revoked one fails on its next request, a quota
takes effect, every change is audited with the admin as actor, refusals name the field."""

from __future__ import annotations

import httpx
import pytest

from cinegen.store.keys import create_key
from cinegen.store.models import Role


@pytest.fixture(scope="module")
def service_settings() -> dict[str, object]:
    return {"quotas": {"artist": {"videos_per_day": 3}}}


@pytest.fixture(scope="module")
def admin(service) -> httpx.Client:
    with service.sessions() as session:
        root = create_key(session, "root", role=Role.admin)
    return httpx.Client(base_url=service.url, headers={"Authorization": f"Bearer {root.secret}"})


def _client(service, secret: str) -> httpx.Client:
    return httpx.Client(base_url=service.url, headers={"Authorization": f"Bearer {secret}"})


def test_a_key_made_here_works_at_once_and_fails_once_revoked(service, admin):
    made = admin.post("/v1/admin/keys", json={"name": "laptop", "account": "ada"})
    assert made.status_code == 201, made.text
    key = made.json()
    assert key["secret"].startswith(key["prefix"]) and key["role"] == "artist"
    assert (key["name"], key["account"], key["revoked_at"]) == ("laptop", "ada", None)
    ada = _client(service, key["secret"])
    assert ada.get("/v1/videos").status_code == 200

    listed = {k["id"]: k for k in admin.get("/v1/admin/keys").json()["data"]}
    assert "secret" not in listed[key["id"]]  # shown once, never again
    assert listed[key["id"]]["role_quota"]["videos_per_day"] == 3
    assert {k["name"] for k in listed.values()} >= {"root", "laptop"}

    revoked = admin.post(f"/v1/admin/keys/{key['id']}/revoke")
    assert revoked.status_code == 200 and revoked.json()["revoked_at"] is not None
    assert ada.get("/v1/videos").json()["error"]["code"] == "invalid_api_key"
    again = admin.post(f"/v1/admin/keys/{key['prefix']}/revoke")  # by prefix; harmless
    assert again.json()["revoked_at"] == revoked.json()["revoked_at"]

    admin_id = _admin_id(admin)
    lines = admin.get("/v1/admin/audit", params={"limit": 1000}).json()["data"]
    mine = [(line["action"], line["target"]) for line in lines if line["actor"] == admin_id]
    assert ("key.create", key["id"]) in mine and ("key.revoke", key["id"]) in mine
    assert mine.count(("key.revoke", key["id"])) == 1


def _admin_id(admin: httpx.Client) -> str:
    keys = admin.get("/v1/admin/keys").json()["data"]
    return str(next(k["account_id"] for k in keys if k["name"] == "root"))


def test_a_key_s_own_quota_goes_over_its_role_s_until_cleared(service, admin):
    key = admin.post("/v1/admin/keys", json={"name": "brief"}).json()
    limits = {"max_seconds": 1, "videos_per_day": None}
    set_ = admin.put(f"/v1/admin/keys/{key['id']}/quota", json=limits)
    assert set_.status_code == 200, set_.text
    quota = set_.json()["quota"]
    assert quota["max_seconds"] == 1 and quota["videos_per_day"] is None  # the role's 3 stays

    brief = _client(service, key["secret"])
    refused = brief.post("/v1/videos", json={"prompt": "a red circle", "seconds": "2", "seed": 1})
    assert refused.status_code == 403 and "up to 1 s" in refused.json()["error"]["message"]

    cleared = admin.put(f"/v1/admin/keys/{key['id']}/quota", content=b"null",
                        headers={"Content-Type": "application/json"})  # fmt: skip
    assert cleared.status_code == 200 and cleared.json()["quota"] is None
    assert admin.put(f"/v1/admin/keys/{key['id']}/quota", json={}).json()["quota"] is None
    actions = [
        (line["action"], line["detail"])
        for line in admin.get("/v1/admin/audit", params={"limit": 1000}).json()["data"]
        if line["target"] == key["id"]
    ]
    assert ("key.quota", {"quota": {"max_seconds": 1.0}}) in actions
    assert actions[-1] == ("key.quota", {"quota": None})


@pytest.mark.parametrize(
    ("method", "path", "body", "status", "param", "words"),
    [
        ("POST", "/v1/admin/keys", {"name": "x", "role": "boss"}, 400, "role", "'reviewer'"),
        ("POST", "/v1/admin/keys", {"name": ""}, 400, "name", "at least 1"),
        ("POST", "/v1/admin/keys", {"name": "x", "colour": 1}, 400, "colour", "not permitted"),
        ("POST", "/v1/admin/keys/key_nope/revoke", None, 404, "id", "key_nope"),
        ("PUT", "/v1/admin/keys/key_nope/quota", {"max_seconds": 1}, 404, "id", "key_nope"),
        ("PUT", "/v1/admin/keys/{id}/quota", {"max_seconds": 0}, 400, "max_seconds", "than 0"),
        ("PUT", "/v1/admin/keys/{id}/quota", {"per_hour": 1}, 400, "per_hour", "not permitted"),
    ],
)
def test_refusals_name_the_field(admin, method, path, body, status, param, words):
    key_id = admin.get("/v1/admin/keys").json()["data"][0]["id"]
    answer = admin.request(method, path.format(id=key_id), json=body)
    assert answer.status_code == status, answer.text
    error = answer.json()["error"]
    assert error["param"] == param and words in error["message"], error


def test_an_account_keeps_its_role(admin):
    admin.post("/v1/admin/keys", json={"name": "rita", "role": "reviewer"})
    answer = admin.post("/v1/admin/keys", json={"name": "rita's phone", "account": "rita"})
    assert answer.status_code == 400
    error = answer.json()["error"]
    assert error["param"] == "role" and "exists with role reviewer" in error["message"]
    second = admin.post(
        "/v1/admin/keys", json={"name": "rita's phone", "account": "rita", "role": "reviewer"}
    )
    assert second.status_code == 201 and second.json()["role"] == "reviewer"


def test_only_admins_manage_keys(service):
    artist = _client(service, service.key("ada2"))
    with service.sessions() as session:
        reviewer = _client(service, create_key(session, "rev", role=Role.reviewer).secret)
    for client in (artist, reviewer):
        for method, path in (("GET", ""), ("POST", ""), ("POST", "/key_x/revoke"),
                             ("PUT", "/key_x/quota")):  # fmt: skip
            answer = client.request(method, f"/v1/admin/keys{path}", json={"name": "mine"})
            assert answer.status_code == 403, (method, path, answer.text)
            assert answer.json()["error"]["code"] == "admin_only"


def test_the_schema_describes_the_key_routes(service):
    schema = httpx.get(f"{service.url}/openapi.json").json()
    created = schema["paths"]["/v1/admin/keys"]["post"]["responses"]
    assert created["201"]["content"]["application/json"]["schema"]["$ref"].endswith("CreatedKey")
    assert {"400", "403", "404"} <= set(created)
    stored = schema["components"]["schemas"]["StoredKey"]["properties"]
    assert "secret" not in stored and "quota" in stored
    assert "secret" in schema["components"]["schemas"]["CreatedKey"]["properties"]


def test_the_audit_log_pages_newest_first_without_gaps(admin):
    for name in ("a1", "a2", "a3"):
        admin.post("/v1/admin/keys", json={"name": name, "account": "pager"})
    oldest_first = admin.get("/v1/admin/audit", params={"limit": 1000}).json()["data"]
    seen, before = [], None
    while True:
        params = {"order": "newest", "limit": 2, **({"before": before} if before else {})}
        page = admin.get("/v1/admin/audit", params=params).json()
        seen += [line["id"] for line in page["data"]]
        if not page["has_more"]:
            break
        before = page["last_id"]
    assert seen == [line["id"] for line in reversed(oldest_first)]
    assert (
        admin.get("/v1/admin/audit", params={"order": "sideways"})
        .json()["error"]["param"]
        .endswith("order")
    )
