"""The studio's Review and Admin pages, as each role meets them: the page for those whose
key allows it, a 403 page that says which key it needs for the others."""

from __future__ import annotations

import re

import httpx
import pytest

from cinegen.store.keys import create_key
from cinegen.store.models import Role


def _signed_in(service, role: Role, name: str) -> httpx.Client:
    with service.sessions() as session:
        secret = create_key(session, name, role=role).secret
    browser = httpx.Client(base_url=service.url)
    signed = browser.post("/sign-in", data={"api_key": secret, "next": "/"})
    assert signed.status_code == 303, signed.text
    return browser


@pytest.mark.parametrize(
    ("role", "review", "admin"),
    [(Role.artist, 403, 403), (Role.reviewer, 200, 403), (Role.admin, 200, 200)],
)
def test_each_role_sees_the_pages_its_key_allows(service, role, review, admin):
    browser = _signed_in(service, role, f"page-{role.value}")
    for path, status, script, needs in (
        ("/review", review, "review.js", "reviewer or admin key"),
        ("/admin", admin, "admin.js", "needs an admin key"),
    ):
        page = browser.get(path)
        assert page.status_code == status, path
        if status == 200:
            assert f"/static/js/{script}" in page.text and needs not in page.text
        else:  # says why, and loads no script that would call routes it may not
            assert needs in page.text and f"({role.value})" in page.text
            assert f"/static/js/{script}" not in page.text
    verify = browser.get("/verify")
    assert verify.status_code == 200 and "/static/js/verify.js" in verify.text


def test_the_admin_page_offers_every_quota_limit(service):
    page = _signed_in(service, Role.admin, "page-quota").get("/admin").text
    for field in ("videos_per_day", "seconds_per_month", "max_long_side", "max_active_tasks"):
        assert f'data-quota="{field}"' in page
    assert re.search(r'data-quota="max_long_side"[^>]*min="16"', page)  # the model's bound
