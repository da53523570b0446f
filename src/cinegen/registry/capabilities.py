"""What a model can do and the grid it renders on: ``Capabilities``, one per model row.

The engine renders on this grid and resamples to exactly what was asked (``engine/plan.py``
reads these flags by name to refuse what a model cannot do)."""

from __future__ import annotations

from dataclasses import dataclass

from cinegen.limits import MAX_SECONDS
from cinegen.spec_parts import REMIX_STRENGTH_NAMES


@dataclass(frozen=True)
class Capabilities:
    """What a model can do and the grid it renders on natively.

    The engine renders on this grid and resamples to exactly what was asked;
    requests outside it (too long, an operation it lacks) are refused by name.
    """

    text_to_video: bool = True
    image_to_video: bool = False  # condition on a first frame
    video_conditioning: bool = False  # condition on frames of an existing clip
    # With video_conditioning: whether held frames may sit anywhere in a clip. False: only a
    # clip's first frames, continued forward (SkyReels-V2's video-to-video extends a clip; it
    # cannot lead into one, end on a frame, loop or join two).
    later_frames: bool = True
    inpaint: bool = False  # regenerate a masked region
    remix: bool = False  # start sampling from an existing clip, noised (video-to-video)
    reference_images: bool = False  # see pictures of a subject anywhere (characters)
    # Takes LoRA adapters by name (Settings.loras, a request's loras): set from LORA_FAMILIES
    lora: bool = False
    # Its image-to-video pipeline takes a last frame beside the first (Wan's ``last_image``);
    # a model with video_conditioning holds one anyway (``holds_last_frame``).
    last_frame: bool = False
    # Renders only between a given first and last frame (Wan 2.1 FLF2V): a request without
    # both is refused (engine.plan), text alone and a first frame alone included.
    both_frames: bool = False
    sound: bool = False  # its renders carry sound made with the picture (LTX-2, Kandinsky 6)
    # What remix strengths subtle, mild and strong mean for this model (0: keep, 1: ignore).
    remix_strengths: tuple[float, float, float] = (0.4, 0.6, 0.8)
    spatial_multiple: int = 32  # native width and height are multiples of this
    frame_step: int = 8  # native frame counts are frame_step * k + 1
    max_frames: int = 121  # longest native clip
    # Shorter limits at smaller sizes, where a checkpoint was made for fewer frames there:
    # ((width, height), longest native clip at up to that many pixels a frame), smallest
    # first; past the last, max_frames (``frames_at``).
    max_frames_by_size: tuple[tuple[tuple[int, int], int], ...] = ()
    native_fps: float = 24.0
    max_area: int = 768 * 512  # most native pixels per frame; larger asks are upscaled
    fixed_size: tuple[int, int] | None = None  # the only native (width, height), if any
    # The only native clip length, if any: those frames span whatever duration is asked
    # (the native rate is fixed_frames / seconds) and frame_step/max_frames do not apply.
    fixed_frames: int | None = None
    # For fixed_frames: the longest one render spans. Longer videos render as windows, each
    # holding the end of the one before (video_conditioning), as on every model whose clip
    # is shorter than the request. None: one render spans any length.
    window_seconds: float | None = None
    # What each window of a long video holds of the one before, in seconds (at least one
    # frame): the motion, which a model that continues a clip carries on.
    window_overlap_seconds: float = 0.5
    # How many renders a clip that continues another (a long video's window, an extension)
    # tries, from seeds after the variant's own, keeping the one whose first new frame
    # steps least from what it holds (``engine.seams``); 1: the variant's seed alone.
    seam_candidates: int = 1

    def remix_strength(self, strength: float | str | None) -> float:
        """A remix strength as a number: named ones by this model's scale, default mild."""
        if isinstance(strength, str) or strength is None:
            return self.remix_strengths[REMIX_STRENGTH_NAMES.index(strength or "mild")]
        return strength

    @property
    def max_seconds(self) -> float:
        """The longest clip, in seconds, one render covers."""
        if self.fixed_frames:
            return self.window_seconds or MAX_SECONDS
        return (self.most_frames - 1) / self.native_fps

    def frames_at(self, width: int, height: int) -> int:
        """The longest native clip at a native size."""
        for (w, h), frames in self.max_frames_by_size:
            if width * height <= w * h:
                return frames
        return self.max_frames

    @property
    def most_frames(self) -> int:
        """The longest native clip at any size it renders (its largest)."""
        return self.frames_at(self.max_area, 1)

    @property
    def holds_frames_anywhere(self) -> bool:
        """Whether it holds given frames at any place in a clip, not only its first ones."""
        return self.video_conditioning and self.later_frames

    @property
    def holds_last_frame(self) -> bool:
        """Whether it ends a clip on a given picture after a given first frame."""
        return self.last_frame or self.holds_frames_anywhere

    @property
    def longest_seconds(self) -> float:
        """The longest video it makes: one render, or any length in windows where it
        continues a clip (each window holds the end of the one before)."""
        return MAX_SECONDS if self.video_conditioning else min(self.max_seconds, MAX_SECONDS)

    @property
    def frame_rule(self) -> str:
        """Native clip lengths, in words for `cinegen models`."""
        if self.fixed_frames:
            return f"{self.fixed_frames}, stretched to any length"
        smaller = "".join(
            f", ≤ {f} up to {w}x{h}"
            for (w, h), f in self.max_frames_by_size
            if f < self.most_frames
        )
        return f"{self.frame_step}k+1 ≤ {self.most_frames}" + smaller

    def native_rate(self, seconds: float) -> float:
        """Native frames per second for a clip of ``seconds``."""
        return self.fixed_frames / seconds if self.fixed_frames else self.native_fps

    @property
    def fps_rule(self) -> str:
        return f"{self.fixed_frames}/length" if self.fixed_frames else f"{self.native_fps:g}"
