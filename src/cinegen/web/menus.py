"""What the studio's menus offer, read from the registries: the models with what each can
do (and whether it makes sound), the sound modes, the presets, the styles, sizes and
lengths within the spec's limits, and the pages each role sees. A new model or style is a
new registry row and appears here by itself."""

from __future__ import annotations

from dataclasses import dataclass

from cinegen.config import Settings
from cinegen.engine.styles import STYLES
from cinegen.limits import (
    CHARACTER_DESCRIPTION_MAX,
    CHARACTER_NAME_MAX,
    MAX_SECONDS,
    MAX_SEED,
    MAX_VARIANTS,
    PROMPT_MAX_CHARS,
)
from cinegen.registry import MODELS
from cinegen.spec import (
    DEFAULT_HEIGHT,
    DEFAULT_SECONDS,
    DEFAULT_WIDTH,
    AudioMode,
    GenerationSpec,
    Preset,
)
from cinegen.spec_parts import REMIX_STRENGTH_NAMES
from cinegen.store.models import Role


@dataclass(frozen=True)
class Link:
    path: str
    label: str


# The pages, and the roles that see each (None: everyone signed in).
PAGES: tuple[tuple[Link, frozenset[Role] | None], ...] = (
    (Link("/", "Create"), None),
    (Link("/library", "Library"), None),
    (Link("/verify", "Verify"), None),
    (Link("/review", "Review"), frozenset({Role.reviewer, Role.admin})),
    (Link("/admin", "Admin"), frozenset({Role.admin})),
)


def may_open(path: str, role: Role) -> bool:
    """Whether ``role`` may open the page at ``path`` (the same rule as the navigation)."""
    roles = next(roles for link, roles in PAGES if link.path == path)
    return roles is None or role in roles


def navigation(role: Role | None) -> list[Link]:
    if role is None:
        return []
    return [link for link, _ in PAGES if may_open(link.path, role)]


@dataclass(frozen=True)
class Choice:
    value: str
    label: str
    detail: str = ""


@dataclass(frozen=True)
class ModelChoice(Choice):
    makes_sound: bool = False  # its videos can carry sound (registry.ModelEntry.makes_sound)


# The Sound menu: each AudioMode as the form words it.
AUDIO_MODES: dict[AudioMode, tuple[str, str]] = {
    AudioMode.auto: ("Auto", "sound where the model makes it"),
    AudioMode.on: ("On", "sound, or a refusal from a silent model"),
    AudioMode.off: ("Off", "silent"),
}
DEFAULT_AUDIO: AudioMode = GenerationSpec.model_fields["audio"].default

# Output sizes by aspect: (width, height) pairs people pick, all within the spec's limits;
# the first of each is a quick draft, the default is 480p landscape (the spec's default).
SIZES: dict[str, tuple[tuple[int, int], ...]] = {
    "16:9": ((426, 240), (854, 480), (1280, 720), (1920, 1080)),
    "9:16": ((240, 426), (480, 854), (720, 1280), (1080, 1920)),
    "1:1": ((240, 240), (480, 480), (720, 720), (1080, 1080)),
}
DEFAULT_SIZE = f"{DEFAULT_WIDTH}x{DEFAULT_HEIGHT}"
DURATIONS_S = tuple(s for s in (2, 4, 5, 8, 10, 15, 20, 30, 60.0) if s <= MAX_SECONDS)


@dataclass(frozen=True)
class CreateForm:
    default_model: str
    models: list[ModelChoice]
    audio_modes: list[Choice]
    default_audio: str
    presets: list[Choice]
    styles: list[Choice]
    sizes: list[Choice]
    durations: list[Choice]
    default_duration: str
    default_size: str
    max_variants: int
    max_seconds: float
    max_seed: int
    character_name_max: int
    character_description_max: int
    prompt_max_chars: int
    remix_strengths: tuple[str, ...]


def _model_choices(settings: Settings) -> list[ModelChoice]:
    """Every model this server can load: real ones and the embedded model, tiny-random test
    twins only when the deployment's default is one (a test server)."""
    default_is_tiny = MODELS[settings.default_model].tiny_random
    return [
        ModelChoice(
            entry.id,
            entry.id,
            f"{entry.description} — {', '.join(entry.tasks)}",
            makes_sound=entry.makes_sound,
        )
        for entry in MODELS.values()
        if not entry.tiny_random or default_is_tiny
    ]


def create_form(settings: Settings) -> CreateForm:
    return CreateForm(
        default_model=settings.default_model,
        models=_model_choices(settings),
        audio_modes=[Choice(mode.value, *AUDIO_MODES[mode]) for mode in AudioMode],
        default_audio=DEFAULT_AUDIO.value,
        presets=[
            Choice(Preset.turbo.value, "Turbo", "fast: fewer steps"),
            Choice(Preset.quality.value, "Quality", "slower: every step"),
        ],
        styles=[Choice(s.name, s.name, s.description) for s in STYLES.values()],
        sizes=[
            Choice(f"{w}x{h}", f"{w}×{h}", aspect)
            for aspect, pairs in SIZES.items()
            for w, h in pairs
        ],
        durations=[Choice(f"{s:g}", f"{s:g} s") for s in DURATIONS_S],
        default_duration=f"{DEFAULT_SECONDS:g}",
        default_size=DEFAULT_SIZE,
        max_variants=MAX_VARIANTS,
        max_seconds=MAX_SECONDS,
        max_seed=MAX_SEED,
        character_name_max=CHARACTER_NAME_MAX,
        character_description_max=CHARACTER_DESCRIPTION_MAX,
        prompt_max_chars=PROMPT_MAX_CHARS,
        remix_strengths=REMIX_STRENGTH_NAMES,
    )
