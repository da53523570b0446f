"""``Settings``: every default in one typed object, a comment on each, and the checks that
refuse a bad value when the process starts."""

from __future__ import annotations

import ipaddress
import os
import re
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any, Literal, Self

import platformdirs
from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from cinegen.config import webhook_prefixes
from cinegen.config.groups import (
    MODERATION_CATEGORIES,
    ModerationCategory,
    QueueSettings,
    Quota,
    RoleName,
    TurboLora,
)
from cinegen.config.sources import (
    CONFIG_ENV,
    Renamed,
    RenamedEnvironment,
    refuse_unknown_environment,
)
from cinegen.media.x264 import X264Preset


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="CINEGEN_", env_nested_delimiter="__", extra="forbid", validate_default=True
    )

    # Where state lives (database, uploads, keys) for every command: serve, worker, keys.
    data_dir: Path = Field(default_factory=lambda: platformdirs.user_data_path("cinegen"))
    # Where `cinegen generate` writes when --out is not given.
    output_dir: Path = Path("cinegen-out")
    # The database shared by serve, worker and keys: an SQLite file in data_dir unless set
    # (a SQLAlchemy URL, e.g. postgresql+psycopg://user@host/cinegen for many machines).
    database_url: str | None = None

    # A running task whose worker has not reported progress for this long goes back to the
    # queue (its worker is taken for dead) ...
    task_lease_seconds: Annotated[float, Field(gt=0, le=3600)] = 60.0
    # ... at most this many times in all; then it fails with code "interrupted".
    task_max_attempts: Annotated[int, Field(ge=1, le=20)] = 3
    # Routing and fair share among queued tasks (QueueSettings).
    queue: QueueSettings = QueueSettings()

    # The HTTP API (`cinegen serve`): loopback unless told otherwise.
    host: str = "127.0.0.1"
    port: Annotated[int, Field(ge=1, le=65535)] = 8000
    # Reverse proxies (addresses or CIDR ranges; "*": any) whose X-Forwarded-For header
    # names the real client, for the per-address limits and the logs. Others' is ignored.
    trusted_proxies: list[str] = ["127.0.0.1", "::1"]
    # Worker processes that `cinegen serve` starts beside the API (0: run `cinegen worker`).
    workers: Annotated[int, Field(ge=0, le=64)] = 1
    # Finished videos and their records are deleted this long after they complete.
    asset_ttl_hours: Annotated[float, Field(gt=0)] = 24.0 * 7
    # Uploaded pictures and videos are deleted this long after they arrive, unless a
    # character is drawn from one or an unfinished task still reads it.
    upload_ttl_hours: Annotated[float, Field(gt=0)] = 24.0 * 7
    # Unfinished tasks (queued or running) one account may have; more answer 429.
    max_active_tasks_per_account: Annotated[int, Field(ge=1)] = 4
    # Queued tasks across all accounts; more answer 429 with Retry-After.
    max_queued_tasks: Annotated[int, Field(ge=1)] = 256
    # How long clients polling a task are told to wait (openai-poll-after-ms).
    poll_after_ms: Annotated[int, Field(ge=100, le=60_000)] = 1000
    # Webhooks (jobs/webhooks.py): the URL prefixes accounts may register endpoints under,
    # e.g. ["https://hooks.example.com/"]; none (the default): webhooks are off. A prefix
    # covers itself and the paths below it, never another host.
    webhook_urls: list[str] = []
    webhook_timeout_seconds: Annotated[float, Field(gt=0, le=60)] = 10.0

    # The shot planner (shot_planner.py): empty URL = offline rules. Otherwise any
    # OpenAI-compatible base URL (".../v1"); the rules stand in whenever it fails.
    planner_url: str = ""
    planner_model: str = "gpt-4o-mini"
    planner_api_key: SecretStr = SecretStr("")

    # Quotas by role (any key's own quota, `cinegen keys quota`, goes over its role's);
    # e.g. CINEGEN_QUOTAS__ARTIST__VIDEOS_PER_DAY=50. No entry: no limits.
    quotas: dict[RoleName, Quota] = {}
    # Failed authentications one client address (or one presented key) may make per minute
    # before every request from it waits (429 with Retry-After).
    max_auth_failures_per_minute: Annotated[int, Field(ge=1)] = 10

    # How long a browser stays signed in to the studio (unless it signs out, or its key is
    # revoked: that ends the session at once).
    studio_session_hours: Annotated[float, Field(gt=0)] = 24.0 * 7

    # Review before publishing: a generation its owner shares gets a public page only once a
    # reviewer (or admin) approves it. Off: sharing is immediate.
    review: bool = False

    # Moderation (safety/moderation.py) of every request the API queues: the categories this
    # deployment enforces, the score (0..1) from which each is refused (0.5 unless set), and
    # optionally an OpenAI-compatible base URL (".../v1") whose /moderations scores too.
    moderation_categories: list[ModerationCategory] = list(MODERATION_CATEGORIES)
    moderation_thresholds: dict[ModerationCategory, Annotated[float, Field(gt=0, le=1)]] = {}
    # What the models make is checked too (safety/output.py: nudity on sampled frames).
    moderate_outputs: bool = True
    moderation_url: str = ""
    moderation_model: str = "omni-moderation-latest"
    moderation_api_key: SecretStr = SecretStr("")

    # The model used when a request names none (or names a preset alias): the embedded
    # model, which runs offline on any CPU.
    default_model: str = "cinegen-tiny"
    # Extra names for presets of the default model; `turbo` and `quality` always work.
    preset_aliases: dict[str, Literal["turbo", "quality"]] = {
        "sora-2": "turbo",
        "sora-2-pro": "quality",
    }
    # model id -> local directory with diffusers-format weights; else the hub id is used.
    # Keys may use - or _ (environment variables cannot hold '-').
    model_paths: dict[str, Path] = {}

    # LoRA adapters the operator installs: <lora_dir>/<model id>/<name>.safetensors (diffusers'
    # LoRA format), which requests name by file stem, never by path. Unset: data_dir/loras.
    lora_dir: Path | None = None
    # model id -> the adapters every request to it runs unless it names its own, with their
    # scales: "style-a:0.8,detail:0.5" or {"style-a": 0.8}. Fused into the weights for speed
    # while no request asks for others. Keys may use - or _.
    loras: dict[str, dict[str, float]] = {}
    # model id -> the step-distillation LoRA its turbo preset runs, with that LoRA's steps
    # and guidance; a LoRA named "turbo" in the model's folder is used with the defaults.
    turbo_loras: dict[str, TurboLora] = {}

    # Models kept loaded between generations; the least recently used is dropped first.
    max_loaded_models: Annotated[int, Field(ge=1, le=16)] = 1

    # Hardware: "auto" is CUDA + bfloat16 when a GPU is present, else CPU + float32.
    device: Literal["auto", "cpu", "cuda", "mps"] = "auto"
    dtype: Literal["auto", "float32", "bfloat16", "float16"] = "auto"
    # Where weights live while a model renders on a GPU (engine/memory.py; `cinegen models
    # --memory` shows each model's need per tier): "auto" picks the fastest tier that fits
    # the device's free memory; "full" keeps everything resident; "model" moves whole
    # sub-models in turn; "group" moves transformer blocks a group at a time (CUDA streams
    # overlap the copies); "sequential" moves layers (slowest, least memory). CPU: full.
    memory: Literal["auto", "full", "model", "group", "sequential"] = "auto"
    # Decode the video in tiles: "auto" where the whole decode would not fit.
    vae_tiling: Literal["auto"] | bool = "auto"
    # Weight-only quantization of the transformer loaded from weights (torchao, the
    # cinegen[quantize] extra): int8 runs anywhere; fp8 needs a GPU.
    quantize: Literal["none", "int8", "fp8"] = "none"

    # C2PA: every MP4, PNG, WebP and JPEG carries a signed manifest (provenance/). Unset
    # cert and key: cinegen's own CA in data_dir/provenance, made on first use.
    c2pa: bool = True
    c2pa_cert: Path | None = None  # PEM chain, signing certificate first
    c2pa_key: Path | None = None  # PEM, PKCS#8
    c2pa_trust_anchors: Path | None = None  # PEM roots to verify against (default: the chain's)

    # The visible mark in the bottom-right corner of every frame (media/watermark.py).
    visible_mark: bool = True
    visible_mark_text: Annotated[str, Field(min_length=1, max_length=40)] = "cinegen"
    visible_mark_logo: Path | None = None
    # The invisible mark (provenance/invisible_watermark.py): this server's id and the
    # task's in the luma of every frame, surviving re-encoding, scaling, cropping and
    # cutting. Marks made with one key are found only by a detector with the same key.
    invisible_mark: bool = True
    invisible_mark_key: Annotated[str, Field(min_length=1, max_length=200)] = "cinegen"

    # H.264 quality (0 lossless .. 51 worst; 18-28 is the useful range) and speed preset.
    crf: Annotated[int, Field(ge=0, le=51)] = 20
    x264_preset: X264Preset = "medium"

    @field_validator("memory", mode="before")
    @classmethod
    def _offload_none_is_full(cls, tier: object) -> object:
        """The old ``offload`` setting's "none" (read as ``memory``) is the full tier."""
        return "full" if tier == "none" else tier

    @field_validator("default_model")
    @classmethod
    def _known_model(cls, model: str) -> str:
        from cinegen.registry import MODELS  # plain data, no torch

        if model not in MODELS:
            raise ValueError(f"unknown model {model!r}; choose one of {', '.join(MODELS)}")
        return model

    @field_validator("preset_aliases")
    @classmethod
    def _aliases_do_not_shadow_models(cls, aliases: dict[str, str]) -> dict[str, str]:
        from cinegen.registry import MODELS

        shadowed = sorted(set(aliases) & set(MODELS))
        if shadowed:
            raise ValueError(f"aliases {shadowed} would hide the models of the same name")
        return aliases

    @field_validator("trusted_proxies")
    @classmethod
    def _addresses(cls, proxies: list[str]) -> list[str]:
        """Each as uvicorn matches it: an address, or a range written by its network
        address (10.0.0.5/8 is 10.0.0.0/8); '*' alone trusts any."""
        if "*" in proxies:
            if len(proxies) > 1:
                raise ValueError("trusted_proxies: '*' trusts any address; give it alone")
            return proxies
        normal = []
        for proxy in proxies:
            try:
                network = ipaddress.ip_network(proxy, strict=False)
            except ValueError:
                raise ValueError(
                    f"trusted_proxies: {proxy!r} is not an IP address or CIDR range "
                    "(e.g. 10.0.0.5, 10.0.0.0/8, ::1), nor '*'"
                ) from None
            single = network.num_addresses == 1 and "/" not in proxy
            normal.append(str(network.network_address) if single else str(network))
        return normal

    @field_validator("webhook_urls")
    @classmethod
    def _webhook_prefixes(cls, prefixes: list[str]) -> list[str]:
        for prefix in prefixes:
            try:
                webhook_prefixes.check(prefix)
            except ValueError as exc:
                raise ValueError(f"webhook_urls: {exc}") from None
        return prefixes

    @field_validator("visible_mark_text")
    @classmethod
    def _visible_text(cls, text: str) -> str:
        if not text.strip():
            raise ValueError(
                "visible_mark_text must have visible characters; set visible_mark=false"
            )
        return text

    @field_validator("model_paths")
    @classmethod
    def _normalise_model_keys(cls, paths: dict[str, Path]) -> dict[str, Path]:
        return {key.lower().replace("_", "-"): path for key, path in paths.items()}

    @field_validator("loras", mode="before")
    @classmethod
    def _lora_sets(cls, sets: Any) -> Any:
        """Each model's set as "name:scale,…" text (an environment variable) or a mapping."""
        from cinegen.spec_parts import parse_loras

        if not isinstance(sets, dict):
            return sets
        return {
            key: {d["name"]: d.get("scale", 1.0) for d in parse_loras(given)}
            if isinstance(given, str)
            else given
            for key, given in sets.items()
        }

    @field_validator("loras", "turbo_loras")
    @classmethod
    def _lora_models(cls, sets: dict[str, Any]) -> dict[str, Any]:
        from cinegen.registry import MODELS

        sets = {key.lower().replace("_", "-"): value for key, value in sets.items()}
        able = [m.id for m in MODELS.values() if m.capabilities.lora]
        for key in sets:
            if key not in able:
                raise ValueError(
                    f"{key!r} cannot take LoRA adapters (or is no model); models that can: "
                    + ", ".join(able)
                )
        return sets

    @model_validator(mode="after")
    def _loras_installed(self) -> Self:
        """A deployment's adapters must be installed when it starts, not fail its requests."""
        named = {m: list(s) for m, s in self.loras.items()}
        for model, turbo in self.turbo_loras.items():
            named.setdefault(model, []).append(turbo.name)
        for model, names in named.items():
            have = self.installed_loras(model)
            missing = [n for n in names if n not in have]
            if missing:
                raise ValueError(
                    f"LoRA {missing[0]!r} for {model} is not installed: no "
                    f"{self.lora_folder / model / missing[0]}.safetensors; installed: "
                    + (", ".join(have) or "none")
                )
        return self

    @property
    def lora_folder(self) -> Path:
        return self.lora_dir if self.lora_dir is not None else self.data_dir / "loras"

    def installed_loras(self, model_id: str) -> list[str]:
        """The LoRA adapters installed for a model, by name, sorted: the stems of
        ``<lora_folder>/<model id>/*.safetensors`` (a stem no request could name is left out)."""
        from cinegen.limits import LORA_NAME

        where = self.lora_folder / model_id
        if not where.is_dir():
            return []
        stems = (p.stem for p in where.iterdir() if p.suffix == ".safetensors" and p.is_file())
        return sorted(s for s in stems if re.fullmatch(LORA_NAME, s))

    @field_validator("visible_mark_logo")
    @classmethod
    def _logo_exists(cls, logo: Path | None) -> Path | None:
        if logo is not None and not logo.is_file():
            raise ValueError(f"visible_mark_logo {logo} is not a file; give a PNG path or unset it")
        return logo

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        refuse_unknown_environment(Settings.model_fields)
        sources: list[PydanticBaseSettingsSource] = [
            Renamed(init_settings),
            env_settings,
            RenamedEnvironment(settings_cls),
        ]
        config_file = os.environ.get(CONFIG_ENV)
        if config_file:
            if not Path(config_file).is_file():
                raise FileNotFoundError(f"{CONFIG_ENV}={config_file} does not name a file")
            toml = TomlConfigSettingsSource(settings_cls, toml_file=config_file)
            sources.append(Renamed(toml))
        return tuple(sources)


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read once."""
    return Settings()
