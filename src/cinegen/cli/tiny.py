"""``cinegen train-tiny``, ``cinegen eval-tiny`` and ``cinegen train-tiny-audio``: train the
embedded model from scratch, measure how well it follows prompts, and train its sound."""

from __future__ import annotations

import json
import shlex
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from cinegen.cli.terminal import _fail, _progress_bars, _quiet_libraries, err, out
from cinegen.errors import CinegenError, SpecError

# The options every train command takes.
Workdir = Annotated[Path, typer.Option(help="Checkpoints; a rerun resumes from them.")]
BundleOut = Annotated[
    Path | None,
    typer.Option("--out", help="Where the finished bundle goes (default WORKDIR/bundle)."),
]
TrainSeed = Annotated[int, typer.Option(help="Seeds the data, the batches and the weights.")]

StageProgress = Callable[[str, int, int, dict[str, float]], None]


def _run_training(train: Callable[[StageProgress, str], Path], *, print_every: int) -> None:
    """What the train commands share: ``train(progress, command)`` runs under progress bars
    (without a terminal, a line of the losses every ``print_every`` steps), records the
    command line as typed, and the finished bundle's weight file is printed."""
    command = shlex.join(["cinegen", *sys.argv[1:]])
    with _progress_bars(err.is_terminal) as report:

        def progress(stage: str, done: int, total: int, stats: dict[str, float]) -> None:
            report(stage, done, total)
            if not err.is_terminal and (done % print_every == 0 or done == total):
                detail = " ".join(f"{k} {v:.4f}" for k, v in stats.items())
                err.print(f"{stage} {done}/{total} {detail}")

        try:
            path = train(progress, command)
        except CinegenError as exc:  # a refused setting or a bundle that cannot be read
            _fail(str(exc), code=2 if isinstance(exc, SpecError) else 1)
    out.print(f"[bold green]trained[/] {path}")


def train_tiny(
    workdir: Workdir = Path("cinegen-train-tiny"),
    bundle_dir: BundleOut = None,
    seed: TrainSeed = 0,
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
    lr: Annotated[float, typer.Option(min=0.0, help="Peak learning rate.")] = 3e-4,
    time_shift: Annotated[
        float, typer.Option(min=1.0, help="Shift training flow times to high noise (1: none).")
    ] = 1.0,
    init_from: Annotated[
        Path | None,
        typer.Option(
            help="Continue a bundle's folder (`shipped`: the weights cinegen ships): its "
            "autoencoder as it is, its transformer trained on from its last step to --steps."
        ),
    ] = None,
) -> None:
    """Train cinegen-tiny from scratch, or continue a bundle with --init-from (resumes from
    WORKDIR when stopped)."""
    import torch

    from cinegen.models.tiny.train import train
    from cinegen.models.tiny.train_settings import TrainSettings
    from cinegen.models.tiny.weights import SHIPPED

    chosen = device or ("cuda" if torch.cuda.is_available() else "cpu")
    if init_from == Path("shipped"):
        init_from = SHIPPED
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
        lr=lr,
        time_shift=time_shift,
        init_from=init_from,
    )
    _quiet_libraries()

    def run(progress: StageProgress, command: str) -> Path:
        return train(settings, progress, out=bundle_dir, command=command)

    _run_training(run, print_every=100)


def eval_tiny(
    prompts: Annotated[int, typer.Option(min=1, help="Prompts per split.")] = 64,
    seed: Annotated[int, typer.Option(help="Seeds the prompts and the noise.")] = 0,
    weights: Annotated[
        Path | None, typer.Option(help="A bundle from `cinegen train-tiny` (default: shipped).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
    reader: Annotated[
        bool, typer.Option(help="Render from the prompt reader's caption, as generate does.")
    ] = True,
    compare_reader: Annotated[
        bool,
        typer.Option(help="Also render at quality without the reader, in the same run."),
    ] = False,
    split: Annotated[
        list[str] | None,
        typer.Option(help="Only this split (repeatable): seen, heldout, paraphrase."),
    ] = None,
) -> None:
    """Measure how well cinegen-tiny follows prompts, at both presets, and turbo's speed-up."""
    from cinegen.models.tiny.evaluate import SPLITS, evaluate
    from cinegen.models.tiny.pipeline import TinyPipeline
    from cinegen.registry import CINEGEN_TINY

    unknown = sorted(set(split or ()) - set(SPLITS))
    if unknown:
        allowed = ", ".join(SPLITS)
        _fail(f"--split: {', '.join(unknown)} is not a split (allowed: {allowed})", code=2)
    _quiet_libraries()
    try:
        pipeline = TinyPipeline.load(weights)
    except CinegenError as exc:
        _fail(str(exc), code=1)
    with _progress_bars(err.is_terminal) as report:
        results = evaluate(
            pipeline,
            CINEGEN_TINY.presets,
            per_split=prompts,
            seed=seed,
            on_batch=report,
            reader=reader,
            compare_reader=compare_reader,
            splits=split or SPLITS,
        )
    if as_json:
        print(json.dumps(results))
        return
    table = Table(title=f"cinegen-tiny prompt following ({prompts} prompts per split)")
    names = ["background", "color", "shape", "motion", "overall"]
    for column in ["split", "renders", *names]:
        table.add_column(column, justify="left" if column in ("split", "renders") else "right")
    for name in split or SPLITS:
        for row in ("reference", "quality", "turbo", "quality_no_reader"):
            if row not in results:
                continue
            accuracy = results[row]["accuracy"][name]
            table.add_row(name, row, *(f"{100 * accuracy[n]:.1f}%" for n in names))
    out.print(table)
    quality, turbo = results["quality"], results["turbo"]
    out.print(
        f"quality {quality['steps']} steps {quality['seconds']:.1f} s · turbo {turbo['steps']} "
        f"steps {turbo['seconds']:.1f} s · turbo is {results['turbo_speedup']:.2f}x faster, "
        f"{results['turbo_heldout_drop_points']:+.1f} points lower on held-out prompts"
    )
    out.print("reference: the toy world's own renders of the same scenes, read by the analyser")


def train_tiny_audio(
    workdir: Workdir = Path("cinegen-train-tiny-audio"),
    bundle_dir: BundleOut = None,
    seed: TrainSeed = 0,
    steps: Annotated[int, typer.Option(min=1, help="Training steps in all.")] = 2500,
    batch: Annotated[int, typer.Option(min=1, help="Clips per step.")] = 32,
    pool: Annotated[
        int, typer.Option(min=1, help="Renders put through the video model's autoencoder.")
    ] = 1024,
    threads: Annotated[int, typer.Option(min=0, help="CPU threads (0: torch's choice).")] = 0,
) -> None:
    """Train cinegen-tiny-audio, the network that makes cinegen-tiny's sound (resumes)."""
    from cinegen.models.tiny.train_audio import AudioTrainSettings, train

    settings = AudioTrainSettings(
        workdir=workdir, seed=seed, steps=steps, batch=batch, pool=pool, threads=threads or None
    )

    def run(progress: StageProgress, command: str) -> Path:
        def one_stage(done: int, total: int, stats: dict[str, float]) -> None:
            progress("audio", done, total, stats)

        return train(settings, one_stage, out=bundle_dir, command=command)

    _run_training(run, print_every=50)
