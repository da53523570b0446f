"""Rectified flow for cinegen-tiny: the training target, the conditions it trains under, and
the sampler every operation uses.

Convention: ``x_t = (1 - t) * x_0 + t * noise`` with t = 1 pure noise and t = 0 the clip; the
network predicts the velocity ``dx_t/dt = noise - x_0`` and sampling integrates from t = 1 (or,
for a remix, from the source noised to ``t = strength``) down to 0 with Euler steps. That is
rectified flow (Liu et al. 2022, "Flow Straight and Fast", arXiv:2209.03003), the straight-path
case of flow matching (Lipman et al. 2022, arXiv:2210.02747), with time running the other way
from Lipman's (here t = 1 is noise). Along a straight path the velocity is constant, so Euler
steps follow it exactly; ``tests/models/tiny/test_flow.py`` checks the sampler on such toy
fields.

Given latents (``Condition``) are fed to the network with their mask *and* written back into
the state at every step, clean, as in training (``flow_loss``), so given frames and the kept
part of an inpainted clip come out exactly as given (up to the autoencoder), while the rest
is generated around them. Trap: writing them back noised to the step's time instead shows the
network a state it never trained on: it then draws the object again elsewhere, 5 to 25 pixels
from where the given frame had it.

Held latents also get a guidance of their own (``SamplerSettings.hold_guidance``), like the
image guidance of InstructPix2Pix (Brooks et al. 2022, arXiv:2211.09800): while the layout is
still being decided (flow time above ``HOLD_GUIDANCE_UNTIL``), the velocity is pushed further
along the difference the given latents make (the prediction with them, minus the one without
them, where they are only noised like the rest). Without it the network starts a held frame's
motion about a third of a step off (ahead, or to one side): the object's first step out of a
held frame was 1.65x its usual step on average over 16 toy-world scenes; with 6, 0.97x (the
test of that is in ``tests/models/tiny/test_shipped.py``; ``bench/operations.py`` measures
storyboards and loops).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor

from cinegen.models.tiny.network import VideoDiT
from cinegen.models.tiny.text import EncodedText


@dataclass
class Condition:
    """Latents to keep and where: ``known`` (B, F, C, H, W), ``mask`` (B, F, 1, H, W) in {0, 1}."""

    known: Tensor
    mask: Tensor

    @classmethod
    def none(cls, shape: tuple[int, ...], device: torch.device | str = "cpu") -> Condition:
        b, f, _, h, w = shape
        return cls(torch.zeros(shape, device=device), torch.zeros((b, f, 1, h, w), device=device))


def sample_training_time(batch: int, rng: torch.Generator, shift: float = 1.0) -> Tensor:
    """Flow times (batch,): mostly logit-normal, ``t = sigmoid(n)`` with n ~ N(0, 1), which
    puts the training where the flow is hardest, around t = 1/2 (Esser et al. 2024, "Scaling
    Rectified Flow Transformers", arXiv:2403.03206); a fifth uniform so that the few-step
    turbo sampler's large steps near t = 1 and t = 0 are trained too. ``shift`` > 1 moves
    them to high noise as ``timesteps`` moves the sampler's (t = s·u / (1 + (s - 1)·u)),
    where a clip's shapes are decided."""
    logit = torch.sigmoid(torch.randn(batch, generator=rng))  # (batch,) logit-normal
    uniform = torch.rand(batch, generator=rng)  # (batch,)
    pick = torch.rand(batch, generator=rng) < 0.2  # (batch,) bool, True: take the uniform one
    u = torch.where(pick, uniform, logit)
    return (shift * u / (1 + (shift - 1) * u)).clamp(1e-4, 1 - 1e-4)


def condition_for_training(latents: Tensor, rng: np.random.Generator) -> Condition:
    """The conditions of the operations the sampler serves, each drawn for part of a batch:
    none (text-to-video), first frames (image-to-video, extension), last frames (backward
    extension), both ends (loop, blend), all but a box (inpaint)."""
    b, f, _, h, w = latents.shape
    mask = torch.zeros((b, f, 1, h, w))  # (B, F, 1, H, W), 1 where a latent is given
    for i in range(b):
        kind = rng.random()
        k = int(rng.choice([1, 2, 4, 8]))
        if kind < 0.45:
            continue
        if kind < 0.70:
            mask[i, :k] = 1
        elif kind < 0.80:
            mask[i, f - k :] = 1
        elif kind < 0.88:
            mask[i, : max(1, k // 2)] = 1
            mask[i, f - max(1, k // 2) :] = 1
        else:
            mask[i] = 1
            y0, x0 = int(rng.integers(0, h - 1)), int(rng.integers(0, w - 1))
            y1, x1 = int(rng.integers(y0 + 2, h + 1)), int(rng.integers(x0 + 2, w + 1))
            mask[i, :, :, y0:y1, x0:x1] = 0
    return Condition(known=latents * mask, mask=mask)  # known: (B, F, C, H, W)


def flow_loss(
    model: VideoDiT,
    latents: Tensor,
    text: EncodedText,
    condition: Condition,
    t: Tensor,
    noise: Tensor,
    weight: Tensor | None = None,
) -> Tensor:
    """The flow-matching loss on straight paths (Lipman et al. 2022; Liu et al. 2022):

        x_t = (1 - t) x_0 + t ε,    loss = mean(w · (v_θ(x_t, t) - (ε - x_0))²)

    for clips ``latents`` = x_0 (B, F, C, H, W), ``noise`` = ε of the same shape and flow
    times ``t`` (B,). The given latents enter x_t clean, as the sampler writes them. ``w`` is
    weighted to the latents the model has to make: given ones count a tenth, and ``weight``
    (B, F, 1, H, W), when given, scales each latent pixel."""
    tt = t[:, None, None, None, None]  # (B, 1, 1, 1, 1)
    x_t = (1 - tt) * latents + tt * noise  # (B, F, C, H, W)
    x_t = condition.mask * condition.known + (1 - condition.mask) * x_t  # given latents clean
    predicted = model(x_t, t, condition.known, condition.mask, text.tokens, text.mask)
    weight = (1 - 0.9 * condition.mask) * (1 if weight is None else weight)  # (B, F, 1, H, W)
    loss: Tensor = ((predicted.float() - (noise - latents)) ** 2 * weight).mean()
    return loss


# Hold guidance applies while flow time is above this: where things are is settled by then.
HOLD_GUIDANCE_UNTIL = 0.5


@dataclass(frozen=True)
class SamplerSettings:
    steps: int
    guidance: float  # classifier-free guidance on the prompt
    start: float = 1.0  # remix: begin from the source noised to this flow time
    hold_guidance: float = 1.0  # guidance on the held latents (1: none); see the module doc
    shift: float = 1.0  # timestep shift (``timesteps``; 1: evenly spaced)


def timesteps(steps: int, start: float = 1.0, shift: float = 1.0) -> list[float]:
    """Flow times from ``start`` down to 0: evenly spaced, or with ``shift`` > 1 spent more
    at high noise, where the layout is decided, by SD3's timestep shift (Esser et al. 2024,
    arXiv:2403.03206) t = s·u / (1 + (s - 1)·u) over evenly spaced u (from the u of
    ``start``, so that a remix still starts at its strength)."""
    u_start = start / (shift - (shift - 1) * start)
    u = np.linspace(u_start, 0.0, steps + 1)
    return [float(v) for v in shift * u / (1 + (shift - 1) * u)]


@torch.no_grad()
def sample(
    model: VideoDiT,
    noise: Tensor,
    text: EncodedText,
    empty: EncodedText,
    settings: SamplerSettings,
    condition: Condition | None = None,
    source: Tensor | None = None,
    on_step: Callable[[Tensor], None] = lambda estimate: None,
    autocast: bool = False,
) -> Tensor:
    """Latent clips from ``noise`` (B, F, C, H, W) under prompts ``text`` (B rows) with
    classifier-free guidance against ``empty`` (one row, the empty prompt) and, where a
    ``condition`` holds latents, ``settings.hold_guidance`` on them. After each step
    ``on_step`` gets the clips the straight path from there ends at (for previews).

    Each Euler step from flow time t to t' < t, with prompt guidance w (Ho & Salimans 2022,
    "Classifier-Free Diffusion Guidance", arXiv:2207.12598) and hold guidance h:

        x   <- m · known + (1 - m) · x                         (held latents, clean)
        v   =  v(x | ∅) + w · (v(x | prompt) - v(x | ∅))
        v   += (h - 1) · (v(x | prompt, held) - v(x_unheld | prompt))   while t > 0.5
        x   <- x + (t' - t) · v

    and at the end the held latents are written back once more, so they come out bit-equal.
    """
    b = noise.shape[0]
    cond = condition or Condition.none(tuple(noise.shape), noise.device)
    times = timesteps(settings.steps, settings.start, settings.shift)
    x = noise if source is None else (1 - times[0]) * source + times[0] * noise  # (B, F, C, H, W)
    guided = settings.guidance != 1.0
    hold_guided = condition is not None and settings.hold_guidance != 1.0
    length = max(text.tokens.shape[1], empty.tokens.shape[1])
    prompted = (_pad(text.tokens, length), _pad(text.mask, length))  # (B, L, D), (B, L)
    unprompted = (
        _pad(empty.tokens, length).expand(b, -1, -1),  # (1, L, D) -> (B, L, D)
        _pad(empty.mask, length).expand(b, -1),  # (1, L) -> (B, L)
    )
    nothing = (torch.zeros_like(cond.known), torch.zeros_like(cond.mask))
    for t_now, t_next in itertools.pairwise(times):
        x = cond.mask * cond.known + (1 - cond.mask) * x
        # One batch, B rows per prediction: (state, given latents, their mask, tokens, token mask).
        rows = [(x, cond.known, cond.mask, *prompted)]
        if guided:
            rows.append((x, cond.known, cond.mask, *unprompted))
        hold_now = hold_guided and t_now > HOLD_GUIDANCE_UNTIL
        if hold_now:  # nothing given: the held latents noised like the rest
            unheld = cond.mask * ((1 - t_now) * cond.known + t_now * noise) + (1 - cond.mask) * x
            rows.append((unheld, *nothing, *prompted))
        # R = len(rows) predictions in one batch: each column concatenated to (R·B, ...).
        columns = (torch.cat(column) for column in zip(*rows, strict=True))
        state, known, held, tokens, token_mask = columns
        t = torch.full((b * len(rows),), t_now, device=x.device)  # (R·B,)
        with torch.autocast(x.device.type, dtype=torch.bfloat16, enabled=autocast):
            out = model(state, t, known, held, tokens, token_mask).float()  # (R·B, F, C, H, W)
        predictions = out.chunk(len(rows))  # R x (B, F, C, H, W), in the order of rows
        v = predictions[0]
        if guided:  # classifier-free guidance (Ho & Salimans 2022)
            v = predictions[1] + settings.guidance * (v - predictions[1])
        if hold_now:  # hold guidance: see the module doc
            v = v + (settings.hold_guidance - 1) * (predictions[0] - predictions[-1])
        x = x + (t_next - t_now) * v  # Euler; t_next < t_now
        # The straight path's end: x_0 = x_t - t v, from x_t = x_0 + t (noise - x_0).
        on_step(cond.mask * cond.known + (1 - cond.mask) * (x - t_next * v))
    return cond.mask * cond.known + (1 - cond.mask) * x


def _pad(x: Tensor, length: int) -> Tensor:
    """Right-pad dimension 1 of token states or masks with zeros / False to ``length``."""
    extra = length - x.shape[1]
    if extra <= 0:
        return x
    pad_shape = (x.shape[0], extra, *x.shape[2:])
    return torch.cat([x, torch.zeros(pad_shape, dtype=x.dtype, device=x.device)], dim=1)
