"""Uploaded media: images (image-to-video, timeline items) and videos (timeline items, the
source of an edit or an extension, a character's reference), checked, stored under the data
directory and recorded as an ``Upload`` row that generations refer to by id."""

from __future__ import annotations

import base64
import binascii
import io
import tempfile
from pathlib import Path

import av
from PIL import Image, UnidentifiedImageError
from sqlalchemy.orm import Session

from cinegen.api.errors import ApiError
from cinegen.limits import MAX_LONG_SIDE, MAX_SECONDS, MAX_SHORT_SIDE
from cinegen.media.atomic import atomic_path
from cinegen.media.encode import VideoInfo, demuxer_for, probe
from cinegen.store.models import Account, Upload, new_id

UPLOADS = "uploads"
MAX_UPLOAD_BYTES = 64 * 1024 * 1024
# A source or reference video is at most as long and as large as an output can be.
MAX_UPLOAD_SECONDS = MAX_SECONDS
MAX_IMAGE_SIDE = 8192  # pixels: larger pictures are scaled down before they are sent
IMAGE_TYPES = {"PNG": "image/png", "JPEG": "image/jpeg", "WEBP": "image/webp"}
# The videos kept as they came -> (suffix, media type).
VIDEO_TYPES = {
    "mp4": (".mp4", "video/mp4"),
    "mov": (".mov", "video/quicktime"),
    "webm": (".webm", "video/webm"),
    "matroska": (".mkv", "video/x-matroska"),
}


def store_media(
    session: Session, account: Account, data: bytes, *, data_dir: Path, param: str
) -> Upload:
    """Keep an uploaded image or video, whichever ``data`` is (``store_image``,
    ``store_video``); 400 naming ``param`` when it is neither."""
    _check_size(data, param)
    try:
        with Image.open(io.BytesIO(data)) as picture:
            is_image = picture.format in IMAGE_TYPES
    except (UnidentifiedImageError, OSError, Image.DecompressionBombError):
        is_image = False
    if is_image:
        return store_image(session, account, data, data_dir=data_dir, param=param)
    if demuxer_for(data[:16]) is not None:
        return store_video(session, account, data, data_dir=data_dir, param=param)
    raise ApiError(
        400,
        f"{param} must be an image ({', '.join(IMAGE_TYPES)}) or a video "
        f"({', '.join(VIDEO_TYPES)})",
        code="invalid_value",
        param=param,
    )


def _check_size(data: bytes, param: str) -> None:
    if len(data) > MAX_UPLOAD_BYTES:
        raise ApiError(
            413,
            f"{param} is larger than {MAX_UPLOAD_BYTES >> 20} MB",
            code="too_large",
            param=param,
        )


def store_image(
    session: Session, account: Account, data: bytes, *, data_dir: Path, param: str
) -> Upload:
    """Keep an uploaded image (PNG, JPEG or WebP) as a PNG; 400 naming ``param`` otherwise."""
    _check_size(data, param)
    try:
        opened = Image.open(io.BytesIO(data))
        kind = opened.format
        if max(opened.size) > MAX_IMAGE_SIDE:
            raise ApiError(
                400,
                f"{param} is {opened.width}x{opened.height}; at most {MAX_IMAGE_SIDE} px on "
                "a side: scale it down first",
                code="invalid_value",
                param=param,
            )
        image = opened.convert("RGB")
    except (UnidentifiedImageError, OSError, Image.DecompressionBombError):
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


def store_video(
    session: Session, account: Account, data: bytes, *, data_dir: Path, param: str
) -> Upload:
    """Keep an uploaded video (MP4, MOV, WebM or Matroska, up to 60 s and 1080p) as it came;
    400 naming ``param`` otherwise."""
    _check_size(data, param)
    with tempfile.TemporaryDirectory() as folder:
        scratch = Path(folder) / "upload"
        scratch.write_bytes(data)
        suffix, media_type, info = _video_kind(scratch, param)
        if info.n_frames < 1 or info.width < 2 or info.height < 2:
            raise ApiError(400, f"{param} has no picture to use", code="invalid_value", param=param)
        long_side, short_side = max(info.width, info.height), min(info.width, info.height)
        if long_side > MAX_LONG_SIDE or short_side > MAX_SHORT_SIDE:
            raise ApiError(
                400,
                f"{param} is {info.width}x{info.height}; at most {MAX_LONG_SIDE}x"
                f"{MAX_SHORT_SIDE} (or {MAX_SHORT_SIDE}x{MAX_LONG_SIDE}): scale it down first",
                code="invalid_value",
                param=param,
            )
        if info.duration_s > MAX_UPLOAD_SECONDS + 0.05:
            raise ApiError(
                400,
                f"{param} lasts {info.duration_s:.1f} s; at most {MAX_UPLOAD_SECONDS:g} s "
                "(cut it to the part you need)",
                code="invalid_value",
                param=param,
            )
        upload = Upload(id=new_id("upload"), account_id=account.id, path="", media_type=media_type)
        upload.path = f"{UPLOADS}/{upload.id}{suffix}"
        target = data_dir / upload.path
        target.parent.mkdir(parents=True, exist_ok=True)
        with atomic_path(target) as tmp:
            tmp.write_bytes(data)
    session.add(upload)
    session.commit()
    return upload


def _video_kind(path: Path, param: str) -> tuple[str, str, VideoInfo]:
    """The suffix and media type to keep a video under, and what it holds, once it has been
    read through to its end (``_missing``)."""
    with open(path, "rb") as file:
        head = file.read(64)
    demuxer = demuxer_for(head)
    try:
        if demuxer is None:
            raise ValueError("not ISO media or Matroska")
        missing = _missing(path, demuxer)
        info = probe(path)
    except (av.error.FFmpegError, OSError, ValueError, IndexError):
        raise ApiError(
            400,
            f"{param} is not a video that can be read through (MP4, MOV, WebM or Matroska)",
            code="invalid_value",
            param=param,
        ) from None
    if missing is not None:
        raise ApiError(
            400,
            f"{param} ends early{missing} (was the upload cut short?)",
            code="invalid_value",
            param=param,
        )
    if demuxer == "mov":  # the brand says which ISO media file it is
        kind = "mov" if head[8:12] == b"qt  " else "mp4"
    else:
        kind = "webm" if b"webm" in head else "matroska"
    suffix, media_type = VIDEO_TYPES[kind]
    return suffix, media_type, info


def _missing(path: Path, demuxer: str) -> str | None:
    """What a video lacks of what its index lists (``""`` when the count is unknown), or None
    when it is all there: every packet read, the picture ones decoded.

    Trap: the header alone proves little. An MP4 with its index first (faststart), cut short
    in transfer, still probes as whole, frame count and all; an edit or a remix of it would
    fail later, or run on half a clip. Packets are counted against the index, not decoded
    frames: a clip trimmed without re-encoding decodes fewer frames than it holds (its edit
    list skips some). Matroska lists no count; a block cut in the middle still shows.
    """
    with av.open(str(path), format=demuxer) as container:
        video = container.streams.video[0]  # IndexError: no video stream
        video.thread_type = "AUTO"
        streams = [*container.streams.video, *container.streams.audio]
        held = dict.fromkeys((s.index for s in streams), 0)
        cut_off = False
        for packet in container.demux(streams):
            if packet.stream.index == video.index:
                packet.decode()  # FFmpegError where the picture data is broken
            if packet.size:  # (the last packet of each stream is empty: it flushes)
                held[packet.stream.index] += 1
            cut_off = cut_off or packet.is_corrupt
        for stream in streams:
            found, listed = held[stream.index], stream.frames
            if found < listed:
                return f": {found} of the {listed} {stream.type} frames it lists are there"
    return "" if cut_off else None


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
