"""``cinegen generate``: a prompt (and options) in, files out, with progress bars; and the
helpers every command that makes a video shares: the one run (``_run``), lengths, and the
CLI's media, which are files on disk.
"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path
from typing import Annotated, Any

import numpy as np
import typer
from PIL import Image

from cinegen.cli.terminal import _fail, _progress_bars, _quiet_libraries, _settings, err, out
from cinegen.engine.sources import SourceSound
from cinegen.errors import CinegenError, SpecError
from cinegen.limits import LAST_FRAME, MAX_SECONDS
from cinegen.safety.moderation import ContentPolicyViolation
from cinegen.spec import (
    DEFAULT_FPS,
    AudioMode,
    GenerationSpec,
    GenerationType,
    Preset,
    frames_for,
    parse_spec,
)
from cinegen.spec_parts import InpaintItem, parse_loras


def generate(
    prompt: Annotated[str, typer.Argument(help="What the video shows.")],
    model: Annotated[
        str | None, typer.Option(help="Model id or alias (see `cinegen models`).")
    ] = None,
    preset: Annotated[Preset | None, typer.Option(help="turbo: fast; quality: best.")] = None,
    style: Annotated[str, typer.Option(help="Style preset (see `cinegen styles`).")] = "natural",
    size: Annotated[
        str, typer.Option(help="Output WIDTHxHEIGHT, up to 1920x1080 or 1080x1920.")
    ] = "854x480",
    seconds: Annotated[float | None, typer.Option(help="Length in seconds (default 5).")] = None,
    frames: Annotated[
        int | None, typer.Option(help="Length in frames, instead of seconds.")
    ] = None,
    fps: Annotated[float, typer.Option(help="Frames per second of the file.")] = DEFAULT_FPS,
    variants: Annotated[int, typer.Option(help="How many distinct videos (1-4).")] = 1,
    seed: Annotated[int | None, typer.Option(help="Seed for reproducible output.")] = None,
    negative: Annotated[str | None, typer.Option(help="What to keep out of the video.")] = None,
    # A plain string, so that a wrong value gets the spec's one-line error naming `audio`.
    audio: Annotated[
        str, typer.Option(help="Sound: auto (where the model makes it), on (required), or off.")
    ] = AudioMode.auto.value,
    audio_prompt: Annotated[
        str | None, typer.Option(help="What the sound is, for models that take it apart.")
    ] = None,
    negative_audio: Annotated[
        str | None, typer.Option(help="What to keep out of the sound.")
    ] = None,
    image: Annotated[
        Path | None, typer.Option(help="Animate this picture (first frame); needs an i2v model.")
    ] = None,
    last_frame: Annotated[
        Path | None,
        typer.Option(help="End on this picture (with --image: first and last frame)."),
    ] = None,
    reference: Annotated[
        list[Path] | None,
        typer.Option(help="A picture of a subject the model sees anywhere (up to 3; repeat)."),
    ] = None,
    storyboard: Annotated[
        Path | None,
        typer.Option(help="JSON list of shots [{prompt, start_frame}], one continuous video."),
    ] = None,
    character: Annotated[
        list[str] | None,
        typer.Option(
            help="NAME=FILE (an image or video of the subject) or NAME=DESCRIPTION; the "
            "prompt mentions it as @NAME. Repeat for more."
        ),
    ] = None,
    lora: Annotated[
        list[str] | None,
        typer.Option(
            help="NAME:SCALE, a LoRA installed for the model (scale -2..2, default 1; "
            "`cinegen models --json` lists them). Repeat for more; none: the deployment's."
        ),
    ] = None,
    kind: Annotated[
        GenerationType, typer.Option("--type", help="video_gen, or image_gen for one PNG.")
    ] = GenerationType.video_gen,
    out: Annotated[
        Path | None, typer.Option(help="Output folder, or a file name ending in .mp4/.png.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
    debug: Annotated[bool, typer.Option(help="Show the traceback of an unexpected error.")] = False,
) -> None:
    """Generate video (or an image) from a prompt."""
    try:
        width, height = parse_size(size)
        fields: dict[str, Any] = dict(
            type=kind,
            prompt=prompt,
            model=model,
            preset=preset,
            style=style,
            width=width,
            height=height,
            fps=fps,
            n_variants=variants,
            seed=seed,
            negative_prompt=negative,
            n_frames=_length(seconds, frames, fps),
            audio=audio,
            audio_prompt=audio_prompt,
            negative_audio_prompt=negative_audio,
        )
        fields.update(_pictures(image, last_frame, reference or []))
        if storyboard is not None:
            fields.update(operation="storyboard", storyboard=_read_storyboard(storyboard))
        fields["characters"] = [_character(c) for c in character or []]
        if lora is not None:
            fields["loras"] = [item for option in lora for item in parse_loras(option)]
    except SpecError as exc:
        _fail(str(exc), code=2)
    _run(fields, out, as_json=as_json, debug=debug)


def _run(fields: dict[str, Any], out_path: Path | None, *, as_json: bool, debug: bool) -> None:
    """Validate, render with progress bars, print the result; one clear line on failure."""
    try:
        spec = parse_spec(fields)  # cheap checks first: a typo answers before torch loads
        _quiet_libraries()
        from cinegen.engine.engine import Engine
        from cinegen.generation import generate as run_generate

        with _progress_bars(enabled=err.is_terminal) as on_progress:
            result = run_generate(
                spec,
                out=out_path,
                engine=Engine(_settings()),
                on_progress=on_progress,
                media=_local_files,
                parents=_source_files(spec),
            )
    except SpecError as exc:
        _fail(str(exc), code=2)
    except ContentPolicyViolation as exc:  # the request, as asked: 2; the video made: 1
        _fail(str(exc), code=1 if exc.is_output_rejection else 2)
    except CinegenError as exc:
        _fail(str(exc), code=1)
    except KeyboardInterrupt:
        _fail("interrupted; nothing was kept", code=130)
    except Exception as exc:
        if debug:
            raise
        _fail(f"unexpected {type(exc).__name__}: {exc} (run again with --debug for details)", 1)
    if as_json:
        print(json.dumps(result.to_json()))
        return
    _print_summary(result.to_json())


def _pictures(first: Path | None, last: Path | None, references: list[Path]) -> dict[str, Any]:
    """--image, --last-frame and --reference as the spec's fields (the CLI's media ids are
    paths; -1 is the last frame)."""
    ends = [(first, 0), (last, LAST_FRAME)]
    items = [{"type": "image", "upload_id": str(p), "frame_index": i} for p, i in ends if p]
    fields: dict[str, Any] = {"inpaint_items": items} if items else {}
    if references:
        fields["reference_images"] = [{"upload_id": str(path)} for path in references]
    return fields


def _read_storyboard(path: Path) -> list[dict[str, Any]]:
    """A storyboard file: a JSON list of shots ``{prompt, start_frame, media?}``."""
    try:
        shots = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise SpecError("storyboard", f"cannot read {path} as JSON ({exc})") from None
    if not isinstance(shots, list):
        raise SpecError("storyboard", "must be a JSON list of {prompt, start_frame} shots")
    return shots


def _video(path: Path) -> tuple[np.ndarray, float]:
    """A video file's frames and frame rate, or a ``SpecError`` naming the file."""
    import av

    from cinegen.media.encode import read_frames

    try:
        with av.open(str(path)) as container:
            rate = container.streams.video[0].average_rate
        return read_frames(path), float(rate or DEFAULT_FPS)
    except (OSError, ValueError, IndexError, av.error.FFmpegError) as exc:
        raise SpecError("video", f"cannot read {path} as a video ({exc})") from None


def _length(seconds: float | None, frames: int | None, fps: float) -> int | None:
    if seconds is None:
        return frames
    if frames is not None:
        raise SpecError("seconds", "give --seconds or --frames, not both")
    if not math.isfinite(seconds) or not 0 < seconds <= MAX_SECONDS:
        raise SpecError(
            "seconds", "must be a number over 0", value=seconds, allowed=f"up to {MAX_SECONDS:g}"
        )
    if not math.isfinite(fps) or fps <= 0:
        raise SpecError("fps", "must be a positive number", value=fps)
    return frames_for(seconds, fps)


VIDEO_SUFFIXES = (".mp4", ".mov", ".mkv", ".webm", ".avi")


def _character(option: str) -> dict[str, str]:
    """``--character NAME=FILE`` (described from the file) or ``NAME=DESCRIPTION``."""
    name, sep, value = option.partition("=")
    if not sep or not name or not value:
        raise SpecError(
            "character",
            "must be NAME=FILE or NAME=DESCRIPTION",
            value=option,
            allowed="hero=hero.mp4, hero='a woman in a red coat'",
        )
    path = Path(value)
    if not path.is_file():
        return {"name": name, "description": value}
    from cinegen.characters import describe

    item = InpaintItem(type="video", upload_id=str(path))
    description = describe(_local_files(item))
    if description is None:
        raise SpecError(
            "character",
            f"cannot tell the subject of {path} (the built-in reader knows only the embedded "
            f"model's shapes); describe it instead: --character {name}='a woman in a red coat'",
        )
    return {"name": name, "description": description, "upload_id": str(path)}


def _source_files(spec: GenerationSpec) -> list[Path]:
    """The files on disk a request works from (the CLI's media ids are paths)."""
    return [Path(i) for i in spec.media_ids() if i and Path(i).is_file()]


class _LocalFiles:
    """The CLI's media are files on disk: --image PATH, a storyboard's media, a source video
    (a ``MediaResolver`` and ``SoundResolver``)."""

    def __call__(self, item: InpaintItem) -> np.ndarray:
        path = _path_of(item)
        if path.suffix.lower() in VIDEO_SUFFIXES:
            return _video(path)[0]
        try:
            with Image.open(path) as picture:
                return np.asarray(picture.convert("RGB"))[None]  # (1, H, W, 3)
        except (OSError, ValueError) as exc:
            raise SpecError("image", f"cannot read {path} as a picture ({exc})") from None

    def sound(self, item: InpaintItem) -> SourceSound | None:
        from cinegen.jobs.media import read_sound

        path = _path_of(item)
        return read_sound(path) if path.suffix.lower() in VIDEO_SUFFIXES else None


def _path_of(item: InpaintItem) -> Path:
    return Path(item.upload_id or item.generation_id or "")


_local_files = _LocalFiles()


def parse_size(size: str) -> tuple[int, int]:
    # ASCII digits only: str.isdigit() also takes "¹²⁸", which int() refuses.
    match = re.fullmatch(r"\s*([0-9]{1,5})\s*x\s*([0-9]{1,5})\s*", size.lower().replace("×", "x"))
    if match is None:
        raise SpecError(
            "size",
            "must be WIDTHxHEIGHT",
            value=size,
            allowed="e.g. 640x360, 854x480, 1280x720, 1920x1080",
        )
    return int(match[1]), int(match[2])


def _names_toy_world(prompt: str) -> bool:
    from cinegen.models.tiny.prompt import parse_prompt

    return bool(parse_prompt(prompt).named())


def _print_summary(result: dict[str, Any]) -> None:
    output = result["output"]
    out.print(
        f"[bold green]done[/] {len(result['variants'])} × {output['width']}x{output['height']}, "
        f"{output['n_frames']} frames at {output['fps']:g} fps · model {result['model']} "
        f"({result['preset']}) · style {result['style']} · "
        f"{sum(result['timings'].values()):.1f} s"
    )
    for variant in result["variants"]:
        main = variant.get("video") or variant.get("image")
        out.print(f"  seed {variant['seed']}: {main}")
    out.print(f"  details: {result['sidecar']}")
    if result["model"] == "cinegen-tiny" and not _names_toy_world(result["spec"]["prompt"]):
        out.print(
            "[yellow]note:[/] cinegen-tiny knows only coloured circles, squares, triangles and "
            "stars moving over plain, sunset, night, ocean or grass backgrounds, and your "
            "prompt names none of them. Real-world video: an open-weight model "
            "(`cinegen models`)."
        )
    if result["weights"].startswith("built in code"):
        out.print(
            f"[yellow]note:[/] {result['model']} has random weights, built in code to test the "
            "pipeline: its video is noise. Real models: `cinegen models`."
        )
