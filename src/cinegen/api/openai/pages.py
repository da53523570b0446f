"""The answer of every OpenAI list route (the SDK's ``SyncCursorPage``): a page of objects,
the ids at its ends (``after`` one of them asks for the next page) and whether more follow.
Each list names its own subclass, so ``/openapi.json`` keeps one schema per list."""

from __future__ import annotations

from typing import Generic, Literal, Self, TypeVar

from pydantic import BaseModel

Item = TypeVar("Item", bound=BaseModel)


class CursorPage(BaseModel, Generic[Item]):
    object: Literal["list"] = "list"
    data: list[Item]
    first_id: str | None
    last_id: str | None
    has_more: bool

    @classmethod
    def of(cls, data: list[Item], *, has_more: bool) -> Self:
        """The page of ``data`` (objects with an ``id``)."""
        ids = [getattr(item, "id") for item in data[:1] + data[-1:]]  # noqa: B009
        return cls(
            data=data,
            first_id=ids[0] if ids else None,
            last_id=ids[-1] if ids else None,
            has_more=has_more,
        )
