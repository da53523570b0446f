"""The ``cinegen`` command, one module per group of commands:

- ``generate`` (``generate.py``); ``remix`` · ``extend`` · ``loop`` · ``blend``
  (``operations.py``): make videos, on this machine, into files;
- ``batch`` (``batch.py``): a JSONL file of requests queued as one batch for the workers;
- ``verify`` (``verify.py``): where a file came from;
- ``models`` · ``styles`` (``models.py``): what there is to choose from;
- ``train-tiny`` · ``eval-tiny`` · ``train-tiny-audio`` (``tiny.py``): the embedded model
  and its sound;
- ``studio`` (``studio.py``): the web page, signed in, in the browser;
- ``serve`` · ``worker`` (``serve.py``): the HTTP API and the processes that generate;
- ``keys`` (``keys.py``), ``admin`` · ``audit`` (``admin.py``): the server's database.

Progress goes to stderr, results to stdout (``--json`` for machines). A failure
exits non-zero with one line that says what to change: 2 for a request that
cannot be served as given, 1 for anything else. ``terminal.py`` holds what the
commands share on the terminal.
"""

from __future__ import annotations

import typer

from cinegen.cli import (
    admin,
    batch,
    generate,
    keys,
    models,
    operations,
    serve,
    studio,
    tiny,
    verify,
)

app = typer.Typer(
    no_args_is_help=True,
    add_completion=False,
    help="Self-hosted, open video generation: a prompt in, a watermarked MP4 out.",
)
app.add_typer(keys.keys_app, name="keys")
app.add_typer(admin.admin_app, name="admin")
# The order here is the order of `cinegen --help`.
app.command("audit")(admin.audit_command)
app.command()(studio.studio)
app.command()(serve.serve)
app.command()(serve.worker)
app.command()(generate.generate)
app.command()(operations.remix)
app.command()(operations.extend)
app.command()(operations.loop)
app.command()(operations.blend)
app.command()(batch.batch)
app.command()(verify.verify)
app.command()(models.models)
app.command()(models.styles)
app.command("train-tiny")(tiny.train_tiny)
app.command("eval-tiny")(tiny.eval_tiny)
app.command("train-tiny-audio")(tiny.train_tiny_audio)


def main() -> None:
    app(prog_name="cinegen")
