"""The ``cinegen`` command: generate · models · styles · serve · worker · keys · train-tiny ·
eval-tiny.

Progress goes to stderr, results to stdout (``--json`` for machines). A failure
exits non-zero with one line that says what to change: 2 for a request that
cannot be served as given, 1 for anything else.
"""

from __future__ import annotations

import json
import math
import re
import warnings
from dataclasses import asdict
from pathlib import Path
from typing import Annotated, Any, NoReturn

import numpy as np
import typer
from PIL import Image
from pydantic import ValidationError
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table

from cinegen import serve_cli
from cinegen.admin_cli import admin_app, audit_command
from cinegen.config import Settings
from cinegen.errors import CinegenError, SpecError
from cinegen.keys_cli import keys_app
from cinegen.safety.moderation import ContentPolicyViolation
from cinegen.spec import (
    DEFAULT_FPS,
    MAX_SECONDS,
    GenerationSpec,
    GenerationType,
    InpaintItem,
    Preset,
    frames_for,
    parse_spec,
)

app = typer.Typer(
    no_args_is_help=True,
    add_completion=False,
    help="Self-hosted, open video generation: a prompt in, a watermarked MP4 out.",
)
err = Console(stderr=True)
out = Console(highlight=False, soft_wrap=True)  # paths must stay copyable
app.add_typer(keys_app, name="keys")
app.add_typer(admin_app, name="admin")
app.command("audit")(audit_command)
app.command()(serve_cli.serve)
app.command()(serve_cli.worker)

STAGE_LABELS = {
    "load": "loading model",
    "denoise": "denoising",
    "resample": "resampling",
    "watermark": "watermarks",
    "read": "reading frames",
    "encode": "encoding H.264",
    "files": "variants written",
    "autoencoder": "autoencoder",
    "detail": "decoder detail",
    "latents": "encoding clips",
    "transformer": "transformer",
    "quality": "quality preset",
    "turbo": "turbo preset",
}


@app.command()
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
    image: Annotated[
        Path | None, typer.Option(help="Animate this picture (first frame); needs an i2v model.")
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
        )
        if image is not None:
            fields["inpaint_items"] = [{"type": "image", "upload_id": str(image)}]
        if storyboard is not None:
            fields.update(operation="storyboard", storyboard=_read_storyboard(storyboard))
        fields["characters"] = [_character(c) for c in character or []]
    except SpecError as exc:
        _fail(str(exc), code=2)
    _run(fields, out, as_json, debug)


def _run(fields: dict[str, Any], out_path: Path | None, as_json: bool, debug: bool) -> None:
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


def _read_storyboard(path: Path) -> list[dict[str, Any]]:
    """A storyboard file: a JSON list of shots ``{prompt, start_frame, media?}``."""
    try:
        shots = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise SpecError("storyboard", f"cannot read {path} as JSON ({exc})") from None
    if not isinstance(shots, list):
        raise SpecError("storyboard", "must be a JSON list of {prompt, start_frame} shots")
    return shots


# ---- operations on earlier videos (files): remix · extend · loop · blend -------------------

VideoArg = Annotated[Path, typer.Argument(help="A video file (an earlier generation).")]
PromptArg = Annotated[str, typer.Argument(help="What the new video shows.")]
ModelOpt = Annotated[str | None, typer.Option(help="Model id or alias (see `cinegen models`).")]
SeedOpt = Annotated[int | None, typer.Option(help="Seed for reproducible output.")]
VariantsOpt = Annotated[int, typer.Option(help="How many distinct videos (1-4).")]
OutOpt = Annotated[Path | None, typer.Option(help="Output folder, or a file name ending .mp4.")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON object.")]
DebugOpt = Annotated[bool, typer.Option(help="Show the traceback of an unexpected error.")]


@app.command()
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
    fields = _from_source(video, prompt, model, seed, variants, "remix")
    fields["source"]["strength"] = strength
    _run(fields, out, as_json, debug)


@app.command()
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
    fields = _from_source(video, prompt, model, seed, variants, "extend", add_seconds=seconds)
    fields["source"]["direction"] = "backward" if backward else "forward"
    _run(fields, out, as_json, debug)


@app.command()
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
    fields = _from_source(video, prompt, model, seed, variants, "loop", add_seconds=seconds)
    _run(fields, out, as_json, debug)


@app.command()
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
    fields = _from_source(first, prompt, model, seed, variants, "blend")
    fields["source"]["generation_ids"].append(str(second))
    if seconds is not None:
        fields["n_frames"] = _length(seconds, None, fields["fps"])
    _run(fields, out, as_json, debug)


def _from_source(
    video: Path,
    prompt: str,
    model: str | None,
    seed: int | None,
    variants: int,
    operation: str,
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


def _settings() -> Settings:
    """The settings, or a one-line error naming the bad setting."""
    try:
        return Settings()
    except ValidationError as exc:
        first = exc.errors(include_url=False)[0]
        name = ".".join(str(p) for p in first["loc"])
        raise SpecError(
            f"setting {name}", str(first["msg"]).removeprefix("Value error, ")
        ) from None
    except (ValueError, OSError) as exc:
        raise SpecError("settings", str(exc)) from None


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


@app.command()
def verify(
    file: Annotated[Path, typer.Argument(help="A video or image (MP4, PNG, WebP, JPEG).")],
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Say where a file came from: its C2PA manifest and its invisible watermark.

    Both are checked against this server: its certificate authority, and its tasks."""
    from cinegen.provenance.verify import verify as report_on

    if not file.is_file():
        _fail(f"file: no such file {file}", code=2)
    try:
        settings = _settings()
        with _progress_bars(err.is_terminal) as report:
            result = report_on(file, settings, lambda done, total: report("read", done, total))
    except (SpecError, ValueError) as exc:
        _fail(str(exc), code=2)
    if not result["task"]:
        result["task"] = _task_with_mark(settings, result)
    if as_json:
        out.print(json.dumps(result), markup=False)
        return
    c2pa, generator, mark = result["c2pa"], result["generator"], result["watermark"]
    out.print(f"{file}: C2PA {c2pa['state']}", markup=False)
    if generator:
        out.print(f"  made by cinegen: model {generator['model']}, preset "
                  f"{generator['preset']}, seed {generator['seed']}", markup=False)  # fmt: skip
    if mark["detected"]:
        where = "this server" if mark["this_server"] else f"server {mark['server']}"
        out.print(f"  invisible watermark {mark['payload']} ({where}, confidence "
                  f"{mark['confidence']:.4f})", markup=False)  # fmt: skip
    else:
        out.print("  no invisible watermark found", markup=False)
    if result["task"]:
        out.print(f"  task {result['task']}", markup=False)
    for problem in c2pa["problems"]:
        out.print(f"  problem: {problem}", markup=False)


def _task_with_mark(settings: Settings, report: dict[str, Any]) -> str | None:
    """The task on this server the watermark names, when this machine has its database."""
    from cinegen.provenance.verify import tasks_with_mark
    from cinegen.store.db import open_database

    if not report["watermark"].get("this_server"):
        return None
    if not settings.database_url and not (Path(settings.data_dir) / "cinegen.db").is_file():
        return None  # made by this server's CLI, which keeps no tasks
    with open_database(settings.data_dir, settings.database_url)() as session:
        marked = tasks_with_mark(session, report)
    return marked[0] if len(marked) == 1 else None


def _source_files(spec: GenerationSpec) -> list[Path]:
    """The files on disk a request works from (the CLI's media ids are paths)."""
    return [Path(i) for i in spec.media_ids() if i and Path(i).is_file()]


def _local_files(item: InpaintItem) -> np.ndarray:
    """The CLI's media are files on disk: --image PATH, a storyboard's media, a source video."""
    path = Path(item.upload_id or item.generation_id or "")
    if path.suffix.lower() in VIDEO_SUFFIXES:
        return _video(path)[0]
    try:
        with Image.open(path) as picture:
            return np.asarray(picture.convert("RGB"))[None]  # (1, H, W, 3)
    except (OSError, ValueError) as exc:
        raise SpecError("image", f"cannot read {path} as a picture ({exc})") from None


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


class _progress_bars:
    """One rich bar per stage, created the first time the stage reports."""

    def __init__(self, enabled: bool) -> None:
        self.bars = Progress(
            SpinnerColumn(),
            TextColumn("{task.description:<16}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=err,
            disable=not enabled,
        )
        self.tasks: dict[str, Any] = {}

    def __enter__(self) -> Any:
        self.bars.start()
        return self.report

    def __exit__(self, *exc: object) -> None:
        self.bars.stop()

    def report(self, stage: str, done: int, total: int) -> None:
        if stage not in self.tasks:
            label = STAGE_LABELS.get(stage, stage)
            self.tasks[stage] = self.bars.add_task(label, total=total)
        self.bars.update(self.tasks[stage], completed=done, total=total)


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


@app.command()
def models(as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """List the models, what each can do and its native grid."""
    from cinegen.registry import MODELS

    default = _settings().default_model
    rows: list[dict[str, Any]] = []
    for entry in MODELS.values():
        caps = entry.capabilities
        rows.append(
            {
                "id": entry.id,
                "default": entry.id == default,
                "family": entry.family,
                "tasks": entry.tasks,
                "weights": entry.weights,
                "native_fps": caps.fps_rule,
                "max_seconds": round(caps.max_seconds, 2),
                "frames": caps.frame_rule,
                "grid": (
                    f"{caps.fixed_size[0]}x{caps.fixed_size[1]}"
                    if caps.fixed_size
                    else f"×{caps.spatial_multiple}, ≤ {caps.max_area} px"
                ),
                "presets": {p.value: asdict(c) for p, c in entry.presets.items()},
            }
        )
    if as_json:
        print(json.dumps(rows))
        return
    table = Table("model", "tasks", "native grid", "frames", "fps", "max s", "weights")
    for r in rows:
        name = f"{r['id']} [bold](default)[/]" if r["default"] else r["id"]
        table.add_row(
            name,
            ", ".join(r["tasks"]),
            r["grid"],
            r["frames"],
            r["native_fps"],
            f"{r['max_seconds']:g}",
            r["weights"],
        )
    out.print(table)
    out.print(
        "Any size up to 1920x1080 is resampled from the native grid. Local weights: "
        "CINEGEN_MODEL_PATHS__<MODEL_ID>=/path/to/diffusers/folder"
    )


@app.command()
def styles(as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """List the style presets."""
    from cinegen.engine.styles import STYLES

    if as_json:
        print(json.dumps([asdict(s) for s in STYLES.values()]))
        return
    table = Table("style", "look", "adds to the prompt")
    for s in STYLES.values():
        table.add_row(s.name, s.description, s.prompt_suffix or "—")
    out.print(table)


@app.command("train-tiny")
def train_tiny(
    workdir: Annotated[Path, typer.Option(help="Checkpoints; a rerun resumes from them.")] = Path(
        "cinegen-train-tiny"
    ),
    bundle_dir: Annotated[
        Path | None,
        typer.Option("--out", help="Where the finished bundle goes (default WORKDIR/bundle)."),
    ] = None,
    seed: Annotated[int, typer.Option(help="Seeds the data, the batches and the weights.")] = 0,
    ae_steps: Annotated[int, typer.Option(min=1, help="Autoencoder steps.")] = 3000,
    detail_steps: Annotated[
        int, typer.Option(min=0, help="Decoder steps learning fixed detail (stars).")
    ] = 1500,
    steps: Annotated[int, typer.Option(min=1, help="Transformer steps.")] = 6000,
    batch: Annotated[int, typer.Option(min=1, help="Transformer clips per step.")] = 64,
    clips: Annotated[int, typer.Option(min=1, help="Training clips rendered and encoded.")] = 32768,
    device: Annotated[
        str, typer.Option(help="cpu, cuda or cuda:N; default: cuda if present.")
    ] = "",
    compile: Annotated[bool, typer.Option(help="torch.compile the transformer.")] = False,
    foreground_weight: Annotated[
        float, typer.Option(min=1.0, help="Transformer loss weight of object latents.")
    ] = 4.0,
) -> None:
    """Train cinegen-tiny from scratch (resumes from WORKDIR when stopped)."""
    import shlex
    import sys

    import torch

    from cinegen.models.tiny.train import TrainSettings, train

    chosen = device or ("cuda" if torch.cuda.is_available() else "cpu")
    settings = TrainSettings(
        workdir=workdir,
        seed=seed,
        ae_steps=ae_steps,
        detail_steps=detail_steps,
        dit_steps=steps,
        dit_batch=batch,
        clips=clips,
        device=chosen,
        compile=compile,
        foreground_weight=foreground_weight,
    )
    _quiet_libraries()
    command = shlex.join(["cinegen", *sys.argv[1:]])
    with _progress_bars(err.is_terminal) as report:

        def progress(stage: str, done: int, total: int, stats: dict[str, float]) -> None:
            report(stage, done, total)
            if not err.is_terminal and (done % 100 == 0 or done == total):
                detail = " ".join(f"{k} {v:.4f}" for k, v in stats.items())
                err.print(f"{stage} {done}/{total} {detail}")

        path = train(settings, progress, out=bundle_dir, command=command)
    out.print(f"[bold green]trained[/] {path}")


@app.command("eval-tiny")
def eval_tiny(
    prompts: Annotated[int, typer.Option(min=1, help="Prompts per split.")] = 64,
    seed: Annotated[int, typer.Option(help="Seeds the prompts and the noise.")] = 0,
    weights: Annotated[
        Path | None, typer.Option(help="A bundle from `cinegen train-tiny` (default: shipped).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Measure how well cinegen-tiny follows prompts, at both presets, and turbo's speed-up."""
    from cinegen.models.tiny.evaluate import SPLITS, evaluate
    from cinegen.models.tiny.pipeline import TinyPipeline
    from cinegen.registry import CINEGEN_TINY

    _quiet_libraries()
    try:
        pipeline = TinyPipeline.load(weights)
    except CinegenError as exc:
        _fail(str(exc), code=1)
    with _progress_bars(err.is_terminal) as report:
        results = evaluate(pipeline, CINEGEN_TINY.presets, prompts, seed, on_batch=report)
    if as_json:
        print(json.dumps(results))
        return
    table = Table(title=f"cinegen-tiny prompt following ({prompts} prompts per split)")
    names = ["background", "color", "shape", "motion", "overall"]
    for column in ["split", "renders", *names]:
        table.add_column(column, justify="left" if column in ("split", "renders") else "right")
    for split in SPLITS:
        for row in ("reference", "quality", "turbo"):
            accuracy = results[row]["accuracy"][split]
            table.add_row(split, row, *(f"{100 * accuracy[n]:.1f}%" for n in names))
    out.print(table)
    quality, turbo = results["quality"], results["turbo"]
    out.print(
        f"quality {quality['steps']} steps {quality['seconds']:.1f} s · turbo {turbo['steps']} "
        f"steps {turbo['seconds']:.1f} s · turbo is {results['turbo_speedup']:.2f}x faster, "
        f"{results['turbo_heldout_drop_points']:+.1f} points lower on held-out prompts"
    )
    out.print("reference: the toy world's own renders of the same scenes, read by the analyser")


def _quiet_libraries() -> None:
    """The terminal shows our progress and errors; library chatter is not for the terminal."""
    from diffusers.utils import logging as diffusers_logging
    from transformers.utils import logging as transformers_logging

    diffusers_logging.set_verbosity_error()
    transformers_logging.set_verbosity_error()  # type: ignore[no-untyped-call]
    transformers_logging.disable_progress_bar()  # type: ignore[no-untyped-call]
    # e.g. Mochi's "CPU autocast ... not supported" on every call on a CPU
    warnings.filterwarnings("ignore", category=UserWarning, module=r"diffusers\..*")


def _fail(message: str, code: int) -> NoReturn:
    err.print(f"[bold red]error:[/] {message}", soft_wrap=True)
    raise typer.Exit(code)


def main() -> None:
    app(prog_name="cinegen")
