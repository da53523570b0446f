"""Where settings are read from besides arguments and ``CINEGEN_*`` variables: the TOML file
that ``CINEGEN_CONFIG`` names, and settings under their old names (read with a warning).
Unknown ``CINEGEN_*`` variables are refused here."""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable, Iterable
from typing import Any

from pydantic.fields import FieldInfo
from pydantic_settings import PydanticBaseSettingsSource

CONFIG_ENV = "CINEGEN_CONFIG"


# Settings renamed, old name -> new. The old names still work, with a warning, for one more
# release: in the environment (CINEGEN_WATERMARK_KEY), in the TOML file and in code.
RENAMED = {
    "watermark": "visible_mark",
    "watermark_text": "visible_mark_text",
    "watermark_logo": "visible_mark_logo",
    "invisible_watermark": "invisible_mark",
    "watermark_key": "invisible_mark_key",
    "offload": "memory",  # none | model | sequential; none is now full
}


def _under_new_names(values: dict[str, Any], spelled: Callable[[str], str]) -> dict[str, Any]:
    """``values`` with every renamed setting under its new name (one given under both names
    keeps the new name's value), warning once per old name as ``spelled`` writes it."""
    values = dict(values)
    for old, new in RENAMED.items():
        if old in values:
            warnings.warn(
                f"setting {spelled(old)} is now {spelled(new)}; the old name stops working in the "
                "next release",
                FutureWarning,
                stacklevel=2,
            )
            values.setdefault(new, values.pop(old))
    return values


class Renamed(PydanticBaseSettingsSource):
    """Another source (arguments, the TOML file) with renamed settings read under their
    new names."""

    def __init__(self, source: PydanticBaseSettingsSource) -> None:
        super().__init__(source.settings_cls)
        self.source = source

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        return None, field_name, False  # __call__ reads the whole source at once

    def __call__(self) -> dict[str, Any]:
        return _under_new_names(self.source(), str)


class RenamedEnvironment(PydanticBaseSettingsSource):
    """``CINEGEN_<OLD NAME>`` variables, read under the new names (below the new variables:
    ``CINEGEN_INVISIBLE_MARK_KEY`` wins over ``CINEGEN_WATERMARK_KEY``)."""

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        return None, field_name, False

    def __call__(self) -> dict[str, Any]:
        given = {old: os.environ[_env(old)] for old in RENAMED if _env(old) in os.environ}
        return _under_new_names(given, _env)


def _env(name: str) -> str:
    return f"CINEGEN_{name.upper()}"


def refuse_unknown_environment(settings_fields: Iterable[str]) -> None:
    """pydantic-settings ignores unknown variables; a typo must not pass as a default."""
    known = {_env(name) for name in [*settings_fields, *RENAMED]} | {CONFIG_ENV}
    for var in os.environ:
        if var.startswith("CINEGEN_") and var.split("__")[0] not in known:
            raise ValueError(
                f"unknown setting {var}; known: {', '.join(sorted(known))} "
                "(nested keys use __, e.g. CINEGEN_MODEL_PATHS__WAN)"
            )
