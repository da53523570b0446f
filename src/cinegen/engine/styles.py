"""Style presets: prompt and negative-prompt modifiers, one registry.

A style never rewrites what the user asked for; it adds to it. The result of
``apply`` is recorded in the sidecar so a user can see exactly what the model got.
"""

from __future__ import annotations

from dataclasses import dataclass

from cinegen.errors import SpecError

# Said to every model unless the user gives a negative prompt of their own: the
# failure modes all open video models share.
BASE_NEGATIVE = "blurry, low quality, distorted, jittery, watermark text, flickering"


@dataclass(frozen=True)
class Style:
    name: str
    description: str
    prompt_suffix: str
    negative: str


STYLES: dict[str, Style] = {
    s.name: s
    for s in (
        Style("natural", "as described, no added look", "", ""),
        Style(
            "cinematic",
            "film look: shallow depth of field, dramatic light",
            "cinematic shot, 35mm film, shallow depth of field, dramatic lighting, color graded",
            "amateur, flat lighting, snapshot",
        ),
        Style(
            "anime",
            "Japanese animation, cel shading",
            "anime style, cel shaded, vibrant colors, clean line art, studio animation",
            "photorealistic, photo, 3d render",
        ),
        Style(
            "3d-render",
            "polished CG, soft global illumination",
            "3d render, octane render, soft global illumination, highly detailed, smooth shading",
            "photo, hand drawn, sketch",
        ),
        Style(
            "watercolor",
            "painted watercolour on paper",
            "watercolor painting, soft washes, paper texture, bleeding pigments",
            "photo, 3d render, sharp digital lines",
        ),
        Style(
            "film-noir",
            "black-and-white 1940s crime film",
            "film noir, black and white, high contrast, hard shadows, 1940s, venetian blind light",
            "color, saturated, bright cheerful",
        ),
        Style(
            "claymation",
            "stop-motion plasticine",
            "claymation, stop motion, plasticine figures, handmade miniature set",
            "photorealistic, cel shaded, smooth cg",
        ),
        Style(
            "documentary",
            "handheld, natural light, observational",
            "documentary footage, handheld camera, natural light, realistic",
            "staged, cartoon, stylized",
        ),
        Style(
            "vintage",
            "faded 1970s home movie",
            "vintage 1970s film, super 8, faded colors, film grain, light leaks",
            "modern digital, crisp, hdr",
        ),
    )
}


def get_style(name: str) -> Style:
    try:
        return STYLES[name]
    except KeyError:
        raise SpecError("style", "unknown style", value=name, allowed=", ".join(STYLES)) from None


def apply_style(style: Style, prompt: str, negative_prompt: str | None) -> tuple[str, str]:
    """The prompt and negative prompt the model actually receives."""
    styled = f"{prompt.strip()}, {style.prompt_suffix}" if style.prompt_suffix else prompt.strip()
    negative = negative_prompt.strip() if negative_prompt else BASE_NEGATIVE
    if style.negative:
        negative = f"{negative}, {style.negative}"
    return styled, negative
