"""cinegen: self-hosted, open Sora-style video generation.

>>> import cinegen
>>> spec = cinegen.GenerationSpec(prompt="a red kite over the sea", seed=7)
>>> result = cinegen.generate(spec)        # doctest: +SKIP
>>> result.variants[0].video               # doctest: +SKIP
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from cinegen.version import __version__

__all__ = ["GenerationSpec", "Result", "__version__", "generate"]

if TYPE_CHECKING:
    from cinegen.generation import Result, generate
    from cinegen.spec import GenerationSpec


def __getattr__(name: str) -> Any:
    # Lazy, so `import cinegen` (and `cinegen --help`) does not pay for importing torch.
    if name in ("generate", "Result"):
        from cinegen import generation

        return getattr(generation, name)
    if name == "GenerationSpec":
        from cinegen.spec import GenerationSpec

        return GenerationSpec
    raise AttributeError(f"module 'cinegen' has no attribute {name!r}")
