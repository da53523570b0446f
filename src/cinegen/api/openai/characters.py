"""The OpenAI Videos API's characters: a subject later prompts mention as ``@name``.

``POST /v1/videos/characters`` takes a name and a short video (or an image) of the subject
as multipart; ``GET /v1/videos/characters/{id}`` reads one back, and ``GET
/v1/videos/characters`` (cinegen's) lists the caller's, by name. ``description`` is
cinegen's addition: what the model receives in place of ``@name`` (``api.characters``).
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel

from cinegen.api import characters
from cinegen.api.deps import CurrentAccount, SessionDep
from cinegen.api.errors import ERROR_RESPONSES, ApiError
from cinegen.api.openai.request_body import read_body
from cinegen.api.openai.video_fields import required_text
from cinegen.store.models import Character

router = APIRouter(prefix="/v1/videos", tags=["OpenAI Videos API"], responses=ERROR_RESPONSES)

CHARACTER_FIELDS = {"name", "video", "description"}


class VideoCharacter(BaseModel):
    """A stored character; ``description`` (cinegen's addition) is what the model receives
    in place of ``@name``."""

    id: str
    created_at: int
    name: str
    description: str


class VideoCharacterForm(BaseModel):
    """``POST /v1/videos/characters``: a short video (or an image) of the subject; the
    description is read from it when it shows the embedded model's world, else required."""

    name: str
    video: bytes
    description: str | None = None


class VideoCharacterList(BaseModel):
    object: str = "list"
    data: list[VideoCharacter]


HAND_READ_BODIES: tuple[type[BaseModel], ...] = (VideoCharacterForm,)
CHARACTER_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {"schema": {"$ref": "#/components/schemas/VideoCharacterForm"}}
        },
    }
}


def _character(character: Character) -> VideoCharacter:
    return VideoCharacter(
        id=character.id,
        created_at=int(character.created_at.timestamp()),
        name=character.name,
        description=character.description,
    )


@router.post("/characters", response_model=VideoCharacter, openapi_extra=CHARACTER_BODY)
async def create_character(
    request: Request, account: CurrentAccount, session: SessionDep
) -> VideoCharacter:
    fields, reference = await read_body(request, CHARACTER_FIELDS, "video")
    name = required_text(fields, "name", "how prompts will mention the character (@name)")
    description = fields.get("description")
    if reference is None:
        raise ApiError(
            400,
            "video is required: a video (or image) file of the character, as multipart",
            code="missing_required_parameter",
            param="video",
        )
    character = await run_in_threadpool(
        characters.create,
        session,
        account,
        name,
        reference=reference,
        description=description if isinstance(description, str) else None,
        data_dir=request.app.state.data_dir,
    )
    return _character(character)


@router.get("/characters", response_model=VideoCharacterList)
def list_characters(account: CurrentAccount, session: SessionDep) -> VideoCharacterList:
    return VideoCharacterList(data=[_character(c) for c in characters.of(session, account)])


@router.get("/characters/{character_id}", response_model=VideoCharacter)
def get_character(
    character_id: str, account: CurrentAccount, session: SessionDep
) -> VideoCharacter:
    return _character(characters.owned(session, account, character_id))
