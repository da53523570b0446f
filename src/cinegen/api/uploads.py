"""Uploaded media (images for image-to-video): checked, stored under the data directory,
recorded as an ``Upload`` row that generations refer to by id."""

from __future__ import annotations

import base64
import binascii
import io
from pathlib import Path

from PIL import Image, UnidentifiedImageError
from sqlalchemy.orm import Session

from cinegen.api.errors import ApiError
from cinegen.media.atomic import atomic_path
from cinegen.store.models import Account, Upload, new_id

UPLOADS = "uploads"
MAX_UPLOAD_BYTES = 64 * 1024 * 1024
IMAGE_TYPES = {"PNG": "image/png", "JPEG": "image/jpeg", "WEBP": "image/webp"}


def store_image(
    session: Session, data_dir: Path, account: Account, data: bytes, param: str
) -> Upload:
    """Keep an uploaded image (PNG, JPEG or WebP) as a PNG; 400 naming ``param`` otherwise."""
    if len(data) > MAX_UPLOAD_BYTES:
        raise ApiError(
            413,
            f"{param} is larger than {MAX_UPLOAD_BYTES >> 20} MB",
            code="too_large",
            param=param,
        )
    try:
        opened = Image.open(io.BytesIO(data))
        kind = opened.format
        image = opened.convert("RGB")
    except (UnidentifiedImageError, OSError):
        kind = None
    if kind not in IMAGE_TYPES:
        raise ApiError(
            400,
            f"{param} must be an image: {', '.join(IMAGE_TYPES)}",
            code="invalid_value",
            param=param,
        )
    upload = Upload(id=new_id("upload"), account_id=account.id, path="", media_type="image/png")
    upload.path = f"{UPLOADS}/{upload.id}.png"
    target = data_dir / upload.path
    target.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(target) as tmp:
        image.save(tmp, format="PNG")
    session.add(upload)
    session.commit()
    return upload


def decode_data_url(url: str, param: str) -> bytes:
    """The bytes of a ``data:image/…;base64,…`` URL (no fetching from the network)."""
    head, _, payload = url.partition(",")
    if not (head.startswith("data:") and head.endswith(";base64")) or not payload:
        raise ApiError(
            400,
            f"{param} must be a data: URL with base64 image bytes (this server fetches nothing "
            "from the network); or send the image as a multipart file",
            code="invalid_value",
            param=param,
        )
    try:
        return base64.b64decode(payload, validate=True)
    except binascii.Error:
        raise ApiError(
            400, f"{param} is not valid base64", code="invalid_value", param=param
        ) from None


def remove_upload(session: Session, data_dir: Path, upload: Upload) -> None:
    (data_dir / upload.path).unlink(missing_ok=True)
    session.delete(upload)
    session.commit()
