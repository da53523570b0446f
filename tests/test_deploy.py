"""The container recipe (deploy/): what its processes run and the settings they are given
are ones this cinegen accepts. No Docker engine runs in CI, so the image itself is built
where one does (docs/deploy.md); these tests catch a recipe that drifted from the code."""

from __future__ import annotations

import os
import re
import shlex
import tomllib
from pathlib import Path
from typing import Any

import pytest
import typer
import yaml

from cinegen.cli import app
from cinegen.config import Settings

ROOT = Path(__file__).resolve().parents[1]
COMPOSE = ROOT / "deploy" / "compose.yaml"
DOCKERFILE = ROOT / "deploy" / "Dockerfile"
DEFAULT = re.compile(r"\$\{(\w+)(?::-([^}]*))?\}")


def compose() -> dict[str, Any]:
    # Compose's ${VAR:-default}, as an operator who sets nothing gets it.
    text = DEFAULT.sub(lambda m: m.group(2) or "", COMPOSE.read_text())
    return yaml.safe_load(text)


def cinegen_services() -> dict[str, dict[str, Any]]:
    services = compose()["services"]
    return {
        name: s for name, s in services.items() if str(s.get("image", "")).startswith("cinegen")
    }


def parse_command(argv: list[str]) -> Any:
    """The context of ``argv`` parsed by the ``cinegen`` command as a shell would run it,
    not run: a command or option that does not exist raises click's UsageError (typer
    vendors click, so it is matched by message, not class)."""
    assert argv[0] == "cinegen", f"{argv} does not start the cinegen command"
    command: Any = typer.main.get_command(app)
    ctx = command.make_context("cinegen", argv[1:])
    while hasattr(command, "resolve_command"):  # a group: its subcommand parses the rest
        name, command, rest = command.resolve_command(ctx, [*ctx._protected_args, *ctx.args])
        ctx = command.make_context(name, rest, parent=ctx)
    return ctx


def test_compose_runs_the_api_and_workers_against_one_database_and_volume() -> None:
    services = cinegen_services()
    assert {"api", "worker", "gpu-worker"} <= set(services)
    urls = {s["environment"]["CINEGEN_DATABASE_URL"] for s in services.values()}
    assert len(urls) == 1 and next(iter(urls)).startswith("postgresql+psycopg://")
    assert all("data:/data" in s["volumes"] for s in services.values())
    assert compose()["services"]["db"]["image"].startswith("postgres:")


@pytest.mark.parametrize("service", ["api", "worker", "gpu-worker"])
def test_each_service_runs_a_cinegen_command_that_exists(service: str) -> None:
    command = cinegen_services()[service]["command"]
    ctx = parse_command(command)
    assert ctx.info_name == command[1]
    if service == "api":  # reachable from other containers, workers elsewhere
        assert ctx.params["host"] == "0.0.0.0" and ctx.params["workers"] == 0


def test_a_wrong_option_in_a_command_is_caught() -> None:
    with pytest.raises(Exception, match="No such option: --hots"):
        parse_command(["cinegen", "serve", "--hots", "0.0.0.0"])


@pytest.mark.parametrize("service", ["api", "worker", "gpu-worker"])
def test_each_services_settings_are_accepted(
    service: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Unknown CINEGEN_* variables are errors (config/sources.py): a misspelt one in the recipe
    would stop every container at start."""
    monkeypatch.delenv("CINEGEN_CONFIG", raising=False)
    for name in [k for k in os.environ if k.startswith("CINEGEN_")]:
        monkeypatch.delenv(name)
    environment = cinegen_services()[service]["environment"]
    for name, value in environment.items():
        monkeypatch.setenv(name, str(value))
    settings = Settings()
    assert settings.data_dir == Path("/data")
    assert settings.database_url == environment["CINEGEN_DATABASE_URL"]


def dockerfile_lines() -> list[str]:
    # Continuation lines joined, comments dropped.
    text = re.sub(r"\\\n", " ", DOCKERFILE.read_text())
    return [line.strip() for line in text.splitlines() if line.strip() and line[0] != "#"]


def test_the_image_installs_the_torch_ci_tests_and_extras_that_exist() -> None:
    lines = dockerfile_lines()
    version = next(line.split("=", 1)[1] for line in lines if line.startswith("ARG TORCH_VERSION="))
    assert f"torch=={version}" in (ROOT / ".ci" / "run").read_text()
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    installs = [m for line in lines for m in re.findall(r'"\.\[([\w,-]+)\]"', line)]
    assert installs and all(
        e in extras["optional-dependencies"] for i in installs for e in i.split(",")
    )
    env = next(line for line in lines if line.startswith("ENV "))
    assert "CINEGEN_DATA_DIR=/data" in env


def test_the_images_default_command_exists() -> None:
    cmd = next(line for line in dockerfile_lines() if line.startswith("CMD "))
    argv = yaml.safe_load(cmd.removeprefix("CMD "))  # a JSON array
    assert parse_command(argv).info_name == "serve"
    assert shlex.join(argv) == shlex.join(cinegen_services()["api"]["command"])
