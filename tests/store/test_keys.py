"""API keys: shown once, stored as hashes, revoked for good."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from cinegen.store.keys import authenticate, create_key, list_keys, revoke_key
from cinegen.store.models import ApiKey, Role


def test_a_new_key_authenticates_its_account_and_is_stored_only_hashed(sessions):
    with sessions() as session:
        new = create_key(session, "laptop", account="ada", role=Role.admin)
        stored = session.scalars(select(ApiKey)).one()
    assert new.secret.startswith("cg-") and len(new.secret) > 40
    assert new.secret not in (stored.hash, stored.prefix, stored.id)
    with sessions() as session:
        account = authenticate(session, new.secret)
        assert account is not None and account.name == "ada" and account.role is Role.admin
        assert authenticate(session, new.secret + "x") is None


def test_keys_of_one_account_share_it_and_roles_cannot_be_mixed_up(sessions):
    with sessions() as session:
        first = create_key(session, "laptop", account="ada")
        second = create_key(session, "ci", account="ada")
        assert first.key.account_id == second.key.account_id
        with pytest.raises(ValueError, match="exists with role artist"):
            create_key(session, "boss", account="ada", role=Role.admin)
        assert [k.name for k in list_keys(session)] == ["laptop", "ci"]


def test_a_revoked_key_fails_on_its_next_request(sessions):
    with sessions() as session:
        new = create_key(session, "laptop")
    with sessions() as session:
        assert authenticate(session, new.secret) is not None
        revoke_key(session, new.key.prefix)  # by the prefix that listings show
    with sessions() as session:
        assert authenticate(session, new.secret) is None
        with pytest.raises(KeyError, match="keys list"):
            revoke_key(session, "key_nope")
