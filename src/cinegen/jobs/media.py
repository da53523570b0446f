"""Media a task refers to by id, read from the store for the engine: uploads and earlier
generations of the same account (another account's ids resolve to nothing, as if unknown)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image
from sqlalchemy.orm import Session, sessionmaker

from cinegen.errors import SpecError
from cinegen.media.encode import read_frames
from cinegen.spec import InpaintItem
from cinegen.store.models import Generation, Upload


@dataclass(frozen=True)
class StoreMedia:
    """A ``MediaResolver``: an item's pixels, (F, H, W, 3) uint8."""

    sessions: sessionmaker[Session]
    data_dir: Path
    account_id: str

    def __call__(self, item: InpaintItem) -> np.ndarray:
        with self.sessions() as session:
            if item.upload_id is not None:
                upload = session.get(Upload, item.upload_id)
                if upload is None or upload.account_id != self.account_id:
                    raise SpecError(
                        "inpaint_items.upload_id", "no such upload", value=item.upload_id
                    )
                with Image.open(self.data_dir / upload.path) as image:
                    return np.asarray(image.convert("RGB"))[None]
            generation = session.get(Generation, item.generation_id)
            if generation is None or generation.task.account_id != self.account_id:
                raise SpecError(
                    "inpaint_items.generation_id", "no such generation", value=item.generation_id
                )
            files = generation.files
        if "video" in files:
            return read_frames(self.data_dir / files["video"])
        with Image.open(self.data_dir / files["image"]) as image:
            return np.asarray(image.convert("RGB"))[None]
