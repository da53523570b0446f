"""The rectified-flow sampler and training target of cinegen-tiny, checked as math on toy
velocity fields whose answers are known: no network, no weights.

Convention (``flow.py``): ``x_t = (1 - t) x_0 + t ε``, velocity ``ε - x_0``, Euler steps from
t = 1 down to 0. Tolerances are float32 rounding bounds derived in each test, not fits.
"""

from __future__ import annotations

import itertools
import math

import pytest
import torch

from cinegen.models.tiny import flow
from cinegen.models.tiny.flow import Condition, SamplerSettings
from cinegen.models.tiny.text import EncodedText

EPS = torch.finfo(torch.float32).eps
SHAPE = (2, 4, 3, 5, 5)  # (B, F, C, H, W)
B = SHAPE[0]


class ToyField:
    """Stands in for ``VideoDiT``: ``velocity(state, t, known, held, tokens)`` gives the
    (R·B, F, C, H, W) velocity of a batch of R prediction rows; every call is recorded."""

    def __init__(self, velocity):
        self.velocity = velocity
        self.calls = []

    def __call__(self, state, t, known, held, tokens, token_mask):
        self.calls.append({"state": state.clone(), "t": t.clone(), "held": held.clone()})
        return self.velocity(state, t, known, held, tokens)


def prompts():
    """The prompt (B rows of ones) and the empty prompt (one row of zeros, shorter: padded)."""
    text = EncodedText(torch.ones(B, 3, 4), torch.ones(B, 3, dtype=torch.bool))
    empty = EncodedText(torch.zeros(1, 2, 4), torch.ones(1, 2, dtype=torch.bool))
    return text, empty


def per_row(values, rows):
    """(B, F, C, H, W) -> (rows·B, F, C, H, W), one copy per prediction row."""
    return values.repeat(rows // B, 1, 1, 1, 1)


def first_frame_and_a_box(known_source):
    """Hold frame 0 and a 2 x 3 box of the last frame."""
    mask = torch.zeros(B, SHAPE[1], 1, *SHAPE[3:])  # (B, F, 1, H, W)
    mask[:, 0] = 1
    mask[:, -1, :, 1:3, 2:5] = 1
    return Condition(known=known_source * mask, mask=mask)


@pytest.mark.parametrize("steps", [1, 4, 50])
def test_straight_paths_end_exactly_at_their_target(steps):
    """v(x, t) = (x - x_0) / t is the velocity of the straight path from noise to x_0. An
    Euler step from t to t' gives x_0 + (x - x_0) t'/t, still on that line, so the last step
    (t' = 0) lands on x_0 whatever the step count: rectified flow's point. Only the last
    step's rounding is left: with d = x - x_0 (at most |ε - x_0|), the subtraction, the
    float32 t, the division, float32 dt and the product give -d (1 + δ) with |δ| <= 5 eps/2,
    and the sum adds eps/2 |x_0|: below 3 eps (|ε - x_0| + |x_0|)."""
    gen = torch.Generator().manual_seed(0)
    noise, target = torch.randn(SHAPE, generator=gen), 3 * torch.randn(SHAPE, generator=gen)
    field = ToyField(lambda x, t, *_: (x - per_row(target, len(x))) / t[:, None, None, None, None])

    out = flow.sample(field, noise, *prompts(), SamplerSettings(steps=steps, guidance=1.0))

    assert len(field.calls) == steps
    bound = 3 * EPS * ((noise - target).abs() + target.abs())
    assert ((out - target).abs() <= bound).all()


@pytest.mark.parametrize("start", [1.0, 0.6])
def test_a_constant_velocity_moves_the_start_by_start_times_v(start):
    """With v = c the Euler sum is exact: x(0) = x(start) - start · c, where a remix starts at
    x(start) = (1 - start) source + start ε. Each of the N steps rounds the product (eps |dt c|
    in all, float32 dt included) and the sum (eps/2 |x|, with |x| <= |x(start)| + |c|), and
    x(start) itself two more ulps: below (N + 2) eps (|x(start)| + |c|)."""
    gen = torch.Generator().manual_seed(1)
    noise, source, c = (torch.randn(SHAPE, generator=gen) for _ in range(3))
    field = ToyField(lambda x, *_: per_row(c, len(x)))
    settings = SamplerSettings(steps=7, guidance=1.0, start=start)

    out = flow.sample(field, noise, *prompts(), settings, source=source)

    begin = (1 - start) * source.double() + start * noise.double()
    expected = begin - start * c.double()
    bound = (settings.steps + 2) * EPS * (begin.abs() + c.abs())
    assert ((out - expected).abs() <= bound).all()


@pytest.mark.parametrize("scale", [0.0, 1.0, 3.5])
def test_guidance_mixes_uncond_plus_scale_times_cond_minus_uncond(scale):
    """Classifier-free guidance (Ho & Salimans 2022): v = v_∅ + w (v_c - v_∅). With constant
    toy velocities v_c (under the prompt) and v_∅ (under the empty prompt) the clip ends at
    ε - v, to the bound of the constant-velocity test (x starts at ε). Scale 1 is the
    prompt alone, and costs one prediction per step instead of two."""
    gen = torch.Generator().manual_seed(2)
    noise, v_c, v_u = (torch.randn(SHAPE, generator=gen) for _ in range(3))

    def velocity(x, t, known, held, tokens):
        prompted = tokens.flatten(1).abs().sum(1) > 0  # (R·B,)
        rows = len(x)
        return torch.where(
            prompted[:, None, None, None, None], per_row(v_c, rows), per_row(v_u, rows)
        )

    field = ToyField(velocity)
    settings = SamplerSettings(steps=6, guidance=scale)

    out = flow.sample(field, noise, *prompts(), settings)

    v = v_u.double() + scale * (v_c.double() - v_u.double())
    bound = (settings.steps + 2) * EPS * (noise.abs() + v.abs())
    assert ((out - (noise - v)).abs() <= bound).all()
    assert {len(call["state"]) for call in field.calls} == {B if scale == 1.0 else 2 * B}


@pytest.mark.parametrize("hold_guidance", [1.0, 6.0])
def test_hold_guidance_pushes_along_what_the_held_latents_change(hold_guidance):
    """v = v_held + (h - 1)(v_held - v_unheld) while t > HOLD_GUIDANCE_UNTIL = 0.5: with 4
    steps (t = 1, 0.75, 0.5, 0.25) the first two steps, half the way, are pushed. With
    constant v_held and v_unheld the free latents end at
    ε - ½ (v_held + (h - 1)(v_held - v_unheld)) - ½ v_held, to the constant-velocity bound."""
    gen = torch.Generator().manual_seed(3)
    noise, v_held, v_unheld, given = (torch.randn(SHAPE, generator=gen) for _ in range(4))
    condition = first_frame_and_a_box(given)

    def velocity(x, t, known, held, tokens):
        holding = held.flatten(1).any(1)  # (R·B,)
        rows = len(x)
        return torch.where(
            holding[:, None, None, None, None], per_row(v_held, rows), per_row(v_unheld, rows)
        )

    field = ToyField(velocity)
    settings = SamplerSettings(steps=4, guidance=1.0, hold_guidance=hold_guidance)

    out = flow.sample(field, noise, *prompts(), settings, condition)

    pushed = v_held.double() + (hold_guidance - 1) * (v_held.double() - v_unheld.double())
    expected = noise - 0.5 * pushed - 0.5 * v_held.double()
    free = condition.mask.expand(SHAPE) == 0
    bound = (settings.steps + 2) * EPS * (noise.abs() + pushed.abs() + v_held.abs())
    assert ((out - expected).abs() <= bound)[free].all()
    rows = [len(call["state"]) for call in field.calls]
    assert rows == ([2 * B, 2 * B, B, B] if hold_guidance != 1.0 else [B] * 4)


def test_the_hold_guidance_row_sees_the_held_latents_noised_like_the_rest():
    """The comparison row has no given latents: where they were, the state is
    (1 - t) known + t ε, as if they were being generated too."""
    gen = torch.Generator().manual_seed(4)
    noise, given = torch.randn(SHAPE, generator=gen), torch.randn(SHAPE, generator=gen)
    condition = first_frame_and_a_box(given)
    field = ToyField(lambda x, *_: torch.ones_like(x))
    settings = SamplerSettings(steps=4, guidance=1.0, hold_guidance=6.0)

    flow.sample(field, noise, *prompts(), settings, condition)

    second = field.calls[1]  # t = 0.75
    assert second["t"][0] == 0.75 and not second["held"][B:].any()
    held = condition.mask.expand(SHAPE) == 1
    expected = 0.25 * condition.known + 0.75 * noise
    bound = 2 * EPS * (condition.known.abs() + noise.abs())  # two products and a sum
    assert ((second["state"][B:] - expected).abs() <= bound)[held].all()


SETTINGS = [
    SamplerSettings(steps=5, guidance=1.0),
    SamplerSettings(steps=5, guidance=2.5, hold_guidance=3.0),
    SamplerSettings(steps=3, guidance=2.0, start=0.7),
]


def swirl(x, t, *_):
    """A velocity that is nowhere zero and depends on the state and the time."""
    return torch.sin(3 * x) + t[:, None, None, None, None] + 1.5


@pytest.mark.parametrize("settings", SETTINGS, ids=["plain", "guided", "remix"])
def test_held_latents_come_back_bit_equal(settings):
    gen = torch.Generator().manual_seed(5)
    noise, given, source = (torch.randn(SHAPE, generator=gen) for _ in range(3))
    condition = first_frame_and_a_box(given)
    previews = []

    out = flow.sample(
        ToyField(swirl),
        noise,
        *prompts(),
        settings,
        condition,
        source=source if settings.start < 1 else None,
        on_step=previews.append,
    )

    held = condition.mask.expand(SHAPE) == 1
    assert torch.equal(out[held], condition.known[held])
    assert all(torch.equal(p[held], condition.known[held]) for p in previews)
    assert len(previews) == settings.steps


def test_the_network_sees_the_held_latents_clean_at_every_step():
    """As in training (``flow_loss``): the given latents are written into the state before
    each prediction, not noised."""
    gen = torch.Generator().manual_seed(6)
    noise, given = torch.randn(SHAPE, generator=gen), torch.randn(SHAPE, generator=gen)
    condition = first_frame_and_a_box(given)
    field = ToyField(swirl)

    flow.sample(field, noise, *prompts(), SamplerSettings(steps=4, guidance=2.0), condition)

    held = condition.mask.expand(SHAPE) == 1
    for call in field.calls:
        for rows in call["state"].chunk(2):  # prompted, then unprompted
            assert torch.equal(rows[held], condition.known[held])


def test_timesteps_are_evenly_spaced_from_start_to_zero():
    assert flow.timesteps(4) == [1.0, 0.75, 0.5, 0.25, 0.0]
    assert flow.timesteps(3, start=0.6) == pytest.approx([0.6, 0.4, 0.2, 0.0], abs=1e-15)


N_TIMES = 100_000


def training_times():
    return flow.sample_training_time(N_TIMES, torch.Generator().manual_seed(7))


def test_training_times_lie_inside_the_open_interval_and_repeat_per_seed():
    t = training_times()  # float32: the clamp's bounds are float32 too
    assert t.min() >= torch.tensor(1e-4) and t.max() <= torch.tensor(1 - 1e-4)
    assert t.min() > 0 and t.max() < 1
    assert torch.equal(t, training_times())


def test_training_times_have_their_median_at_sigmoid_of_the_mean():
    """Logit-normal with mean 0 (Esser et al. 2024) mixed with a fifth uniform: both halves
    are symmetric about sigmoid(0) = 1/2. The sample median's standard error is
    1 / (2 f(1/2) √n), with density f(1/2) = 0.8 · 4 φ(0) + 0.2 = 1.48: 0.0011 for n = 1e5;
    allowed: 5 of them."""
    density = 0.8 * 4 / math.sqrt(2 * math.pi) + 0.2
    standard_error = 1 / (2 * density * math.sqrt(N_TIMES))
    assert abs(training_times().double().median().item() - 0.5) < 5 * standard_error


def test_training_times_follow_the_logit_normal_uniform_mixture():
    """Kolmogorov-Smirnov against F(t) = 0.8 Φ(logit t) + 0.2 t: the largest CDF gap stays
    under the 1 % critical value 1.63 / √n. Without the uniform fifth, or with a wider
    logit-normal, the gap at the tails is several times that."""
    t, _ = training_times().double().sort()
    cdf = 0.8 * torch.special.ndtr(torch.logit(t)) + 0.2 * t
    above = torch.arange(1, N_TIMES + 1, dtype=torch.float64) / N_TIMES - cdf
    below = cdf - torch.arange(N_TIMES, dtype=torch.float64) / N_TIMES
    assert max(above.max().item(), below.max().item()) < 1.63 / math.sqrt(N_TIMES)


def test_shifted_training_times_are_the_samplers_shift_of_the_unshifted_ones():
    """``shift`` s maps each time u to s·u / (1 + (s - 1)·u), as ``timesteps`` does: the
    same draws, and with s = 3 about a sixth of them above t = 0.9 instead of 3 %."""
    unshifted = training_times().double()
    shifted = flow.sample_training_time(N_TIMES, torch.Generator().manual_seed(7), 3.0)
    inside = (unshifted > 1e-3) & (unshifted < 1 - 1e-3)  # away from the clamp's bounds
    expected = 3 * unshifted[inside] / (1 + 2 * unshifted[inside])
    torch.testing.assert_close(shifted.double()[inside], expected, rtol=0, atol=1e-6)
    assert (unshifted > 0.9).double().mean() < 0.04 < 0.14 < (shifted > 0.9).double().mean()


def training_batch(seed):
    gen = torch.Generator().manual_seed(seed)
    latents, noise = torch.randn(SHAPE, generator=gen), torch.randn(SHAPE, generator=gen)
    t = torch.tensor([0.3, 0.8])  # (B,)
    return latents, noise, t, first_frame_and_a_box(latents)


def test_flow_loss_is_zero_for_the_velocity_noise_minus_clip():
    latents, noise, t, condition = training_batch(8)
    oracle = ToyField(lambda *_: noise - latents)
    text, _ = prompts()

    assert flow.flow_loss(oracle, latents, text, condition, t, noise).item() == 0.0


def test_flow_loss_weighs_given_latents_a_tenth():
    """A network that predicts 0 pays mean((ε - x_0)² · (1 - 0.9 mask) · weight)."""
    latents, noise, t, condition = training_batch(9)
    weight = torch.rand(B, SHAPE[1], 1, *SHAPE[3:], generator=torch.Generator().manual_seed(10))
    zero = ToyField(lambda x, *_: torch.zeros_like(x))
    text, _ = prompts()

    loss = flow.flow_loss(zero, latents, text, condition, t, noise, weight=weight)

    per_pixel = (noise.double() - latents.double()) ** 2 * (1 - 0.9 * condition.mask) * weight
    assert loss.item() == pytest.approx(per_pixel.mean().item(), rel=1e-5)


def test_flow_loss_shows_the_network_the_interpolant_with_given_latents_clean():
    """x_t = (1 - t) x_0 + t ε where the network generates; the given latents as they are."""
    latents, noise, t, condition = training_batch(11)
    field = ToyField(lambda x, *_: torch.zeros_like(x))
    text, _ = prompts()

    flow.flow_loss(field, latents, text, condition, t, noise)

    (call,) = field.calls
    tt = t.double()[:, None, None, None, None]  # (B, 1, 1, 1, 1)
    interpolant = (1 - tt) * latents + tt * noise
    held = condition.mask.expand(SHAPE) == 1
    assert torch.equal(call["t"], t)
    assert torch.equal(call["state"][held], condition.known[held])
    bound = 2 * EPS * (latents.abs() + noise.abs())
    assert ((call["state"] - interpolant).abs() <= bound)[~held].all()


def test_a_shifted_schedule_spends_its_steps_at_high_noise_and_keeps_its_ends():
    even, shifted = flow.timesteps(6), flow.timesteps(6, shift=3.0)
    assert even == pytest.approx([1, 5 / 6, 4 / 6, 3 / 6, 2 / 6, 1 / 6, 0])
    assert shifted[0] == 1.0 and shifted[-1] == 0.0
    assert sum(t > 0.5 for t in shifted) == 5 > sum(t > 0.5 for t in even)  # 5 of 7, not 3
    assert all(a > b for a, b in itertools.pairwise(shifted))
    # A remix still starts at its strength, shifted or not.
    assert flow.timesteps(3, 0.4, shift=3.0)[0] == pytest.approx(0.4)
