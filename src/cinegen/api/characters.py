"""Stored characters: made from an uploaded image or video, mentioned in later prompts as
``@name`` or ``@id`` by the account that made them, in either dialect."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from cinegen.api.errors import ApiError, not_found
from cinegen.api.uploads import remove_upload, store_media
from cinegen.characters import describe
from cinegen.jobs.media import read_pixels
from cinegen.spec_parts import check_character_name, mentions
from cinegen.store.models import Account, Character, new_id


def create(
    session: Session,
    account: Account,
    name: str,
    *,
    reference: bytes,
    description: str | None,
    data_dir: Path,
) -> Character:
    """A new character from ``reference`` (an image or a video), described by
    ``description`` or else by what ``characters.describe`` reads from it."""
    try:
        check_character_name(name)
    except ValueError as exc:
        raise ApiError(400, str(exc), code="invalid_value", param="name") from None
    if description is not None and not 1 <= len(description.strip()) <= 300:
        raise ApiError(
            400,
            "description must be 1 to 300 characters: the subject as a prompt would say it",
            code="invalid_value",
            param="description",
        )
    taken = session.scalar(
        select(Character).where(Character.account_id == account.id, Character.name == name)
    )
    if taken is not None:
        raise ApiError(
            409,
            f"you already have a character named {name!r} ({taken.id}); choose another name",
            code="name_taken",
            param="name",
        )
    upload = store_media(session, account, reference, data_dir=data_dir, param="video")
    if description is None:
        description = describe(read_pixels(data_dir / upload.path))
        if description is None:
            remove_upload(session, data_dir, upload)
            raise ApiError(
                400,
                "cannot tell the subject of this video (the built-in reader knows only the "
                "embedded model's shapes); send a description too, e.g. "
                "'a woman in a red coat'",
                code="missing_required_parameter",
                param="description",
            )
    character = Character(
        id=new_id("char"),
        account_id=account.id,
        name=name,
        description=description.strip(),
        upload_id=upload.id,
    )
    session.add(character)
    try:
        session.commit()
    except IntegrityError:  # the same name taken at the same moment
        session.rollback()
        remove_upload(session, data_dir, upload)
        message = f"you already have a character named {name!r}; choose another name"
        raise ApiError(409, message, code="name_taken", param="name") from None
    return character


def of(session: Session, account: Account) -> list[Character]:
    """The account's characters, by name."""
    query = select(Character).where(Character.account_id == account.id).order_by(Character.name)
    return list(session.scalars(query))


def owned(session: Session, account: Account, character_id: str) -> Character:
    character = session.get(Character, character_id)
    if character is None or character.account_id != account.id:
        raise not_found("character", character_id)
    return character


def attach(session: Session, account: Account, fields: dict[str, Any]) -> dict[str, Any]:
    """``fields`` with the account's stored characters that its prompts mention added to
    ``characters`` (after any the request lists itself). A mention of no character is left
    for the spec's validation to name."""
    texts = [fields.get("prompt")]
    storyboard = fields.get("storyboard")
    if isinstance(storyboard, list):
        texts += [shot.get("prompt") for shot in storyboard if isinstance(shot, dict)]
    wanted = {name for text in texts if isinstance(text, str) for name in mentions(text)}
    given = fields.get("characters")
    if not wanted or not (given is None or isinstance(given, list)):
        return fields
    listed = {c.get("name") for c in given or [] if isinstance(c, dict)}
    stored = session.scalars(
        select(Character)
        .where(Character.account_id == account.id)
        .where(or_(Character.name.in_(wanted), Character.id.in_(wanted)))
        .order_by(Character.created_at)
    )
    added = [
        {"name": c.name, "description": c.description, "id": c.id, "upload_id": c.upload_id}
        for c in stored
        if c.name not in listed
    ]
    return {**fields, "characters": [*(given or []), *added]} if added else fields
