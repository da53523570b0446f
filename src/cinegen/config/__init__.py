"""Settings: every default in one typed object (``settings.py``).

Read from ``CINEGEN_*`` environment variables (nested with ``__``, e.g.
``CINEGEN_MODEL_PATHS__LTX_VIDEO=/weights/ltx``) and from an optional TOML file
named by ``CINEGEN_CONFIG``. Unknown keys are errors, so a typo never passes
silently as a default.

Its nested parts and the names its fields take are in ``groups.py``; the TOML file, old
names and the refusal of unknown variables in ``sources.py``.
"""

from cinegen.config.groups import (
    MODERATION_CATEGORIES,
    ModerationCategory,
    QueueSettings,
    Quota,
    RoleName,
    TurboLora,
)
from cinegen.config.settings import Settings, get_settings
from cinegen.config.sources import CONFIG_ENV, RENAMED

__all__ = [
    "CONFIG_ENV",
    "MODERATION_CATEGORIES",
    "RENAMED",
    "ModerationCategory",
    "QueueSettings",
    "Quota",
    "RoleName",
    "Settings",
    "TurboLora",
    "get_settings",
]
