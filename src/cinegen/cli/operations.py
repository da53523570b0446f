"""``cinegen remix``, ``extend``, ``loop`` and ``blend``: operations on earlier videos
(files), each a request built from the source video's size, rate and length."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from cinegen.cli.generate import _length, _run, _video
from cinegen.cli.terminal import _fail
from cinegen.errors import SpecError

VideoArg = Annotated[Path, typer.Argument(help="A video file (an earlier generation).")]
PromptArg = Annotated[str, typer.Argument(help="What the new video shows.")]
ModelOpt = Annotated[str | None, typer.Option(help="Model id or alias (see `cinegen models`).")]
SeedOpt = Annotated[int | None, typer.Option(help="Seed for reproducible output.")]
VariantsOpt = Annotated[int, typer.Option(help="How many distinct videos (1-4).")]
OutOpt = Annotated[Path | None, typer.Option(help="Output folder, or a file name ending .mp4.")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON object.")]
DebugOpt = Annotated[bool, typer.Option(help="Show the traceback of an unexpected error.")]


def remix(
    video: VideoArg,
    prompt: PromptArg,
    strength: Annotated[
        str, typer.Option(help="How much changes: subtle, mild, strong, or 0..1.")
    ] = "mild",
    model: ModelOpt = None,
    seed: SeedOpt = None,
    variants: VariantsOpt = 1,
    out: OutOpt = None,
    as_json: JsonOpt = False,
    debug: DebugOpt = False,
) -> None:
    """Remake a video under a new prompt, keeping as much of it as --strength says."""
    fields = _from_source(video, "remix", prompt, model=model, seed=seed, variants=variants)
    fields["source"]["strength"] = strength
    _run(fields, out, as_json=as_json, debug=debug)


def extend(
    video: VideoArg,
    prompt: PromptArg,
    seconds: Annotated[float, typer.Option(help="Seconds to add.")] = 2.0,
    backward: Annotated[bool, typer.Option(help="Add them before the video instead.")] = False,
    model: ModelOpt = None,
    seed: SeedOpt = None,
    variants: VariantsOpt = 1,
    out: OutOpt = None,
    as_json: JsonOpt = False,
    debug: DebugOpt = False,
) -> None:
    """Continue a video by --seconds; the file holds the whole, the original unchanged."""
    fields = _from_source(
        video, "extend", prompt, model=model, seed=seed, variants=variants, add_seconds=seconds
    )
    fields["source"]["direction"] = "backward" if backward else "forward"
    _run(fields, out, as_json=as_json, debug=debug)


def loop(
    video: VideoArg,
    prompt: PromptArg,
    seconds: Annotated[float, typer.Option(help="Seconds of the bridge back to the start.")] = 2.0,
    model: ModelOpt = None,
    seed: SeedOpt = None,
    variants: VariantsOpt = 1,
    out: OutOpt = None,
    as_json: JsonOpt = False,
    debug: DebugOpt = False,
) -> None:
    """The video, then a bridge (under the prompt) that leads back into its first frame."""
    fields = _from_source(
        video, "loop", prompt, model=model, seed=seed, variants=variants, add_seconds=seconds
    )
    _run(fields, out, as_json=as_json, debug=debug)


def blend(
    first: VideoArg,
    second: Annotated[Path, typer.Argument(help="The video to end on.")],
    prompt: PromptArg,
    seconds: Annotated[float | None, typer.Option(help="Length (default: the first's).")] = None,
    model: ModelOpt = None,
    seed: SeedOpt = None,
    variants: VariantsOpt = 1,
    out: OutOpt = None,
    as_json: JsonOpt = False,
    debug: DebugOpt = False,
) -> None:
    """A third of FIRST, a transition under the prompt, a third of SECOND."""
    fields = _from_source(first, "blend", prompt, model=model, seed=seed, variants=variants)
    fields["source"]["generation_ids"].append(str(second))
    if seconds is not None:
        fields["n_frames"] = _length(seconds, None, fields["fps"])
    _run(fields, out, as_json=as_json, debug=debug)


def _from_source(
    video: Path,
    operation: str,
    prompt: str,
    *,
    model: str | None,
    seed: int | None,
    variants: int,
    add_seconds: float = 0.0,
) -> dict[str, Any]:
    """Request fields for an operation on ``video``: its size, rate and length, plus
    ``add_seconds`` of new frames."""
    try:
        frames, fps = _video(video)
        added = (_length(add_seconds, None, fps) or 0) if add_seconds else 0
    except SpecError as exc:
        _fail(str(exc), code=2)
    height, width = frames.shape[1:3]
    return dict(
        prompt=prompt,
        model=model,
        seed=seed,
        n_variants=variants,
        operation=operation,
        width=width - width % 2,
        height=height - height % 2,
        fps=fps,
        n_frames=len(frames) + added,
        source={"generation_ids": [str(video)]},
    )
