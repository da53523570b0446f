"""cinegen-tiny's sound, heard back on held-out prompts. Prints one JSON object.

Each held-out prompt (a colour+shape, shape+motion or colour+background pair never trained
on, for the video model and the sound network alike) is rendered once by cinegen-tiny, then
delivered as the engine delivers it: stretched and resized by ``resample_video`` to one of
``DELIVERIES`` (landscape, portrait, square; 8 to 30 fps). The soundtrack network makes the
sound from those finished frames; the sound goes the media way (48 kHz, -16 LUFS, AAC in an
MP4 and back, PyAV) and ``hear`` reads it. Figures, with their targets:

1. bounce contacts with an onset within +-1 video frame (>= 90%); also without the contact
   at t = 0, which the sound's own start always meets;
2. pitch class read back as the prompt's colour (>= 80%);
3. stereo position following horizontal motion (>= 90%): on left/right clips, the heard
   pan moves the object's way by at least 0.2 (last quarter against first quarter);
   Also the onsets that are neither the clip's start nor a contact (spurious), per clip;
4. the picture-to-sound offset on every clip (median <= 1 frame): the median, over the clip's
   events, of sound time minus picture time, in video frames. Events: the first frame and
   the first onset (every clip); each bounce contact, where the picture's object is lowest
   (``analyse`` track), and the nearest onset; for left/right, where the picture's object
   and the heard pan cross halfway between their start and end;
5. the sound network's share of a generation's time (target <= 15%): one 5 s 854x480
   request through the engine (render and resample), then its soundtrack, timed apart.

    python bench/audio.py [--prompts 24] [--preset quality]
"""

from __future__ import annotations

import argparse
import io
import json
import statistics
import time
import warnings
from typing import Any

import av
import numpy as np
import pyloudnorm

from cinegen.config import Settings
from cinegen.engine.backends.cinegen_tiny_sound import CinegenTinySoundtrack
from cinegen.engine.engine import Engine
from cinegen.media.resample import resample_video
from cinegen.models.tiny.analyse import analyse
from cinegen.models.tiny.captions import caption
from cinegen.models.tiny.hear import Hearing, hear
from cinegen.models.tiny.pipeline import TinyPipeline
from cinegen.models.tiny.scene import Scene
from cinegen.models.tiny.sound import RATE
from cinegen.models.tiny.soundtrack import TinySoundtrack
from cinegen.models.tiny.toyworld import sample_scene
from cinegen.models.tiny.vocab import Motion
from cinegen.registry import CINEGEN_TINY
from cinegen.spec import Preset, parse_spec

DELIVERIES = [(854, 480, 24, 120), (640, 360, 30, 90), (64, 64, 8, 16), (480, 854, 24, 72)]
GROUPS = [(Motion.BOUNCING,), (Motion.LEFT, Motion.RIGHT), tuple(Motion)]  # a third each
DELIVERY_RATE = 48_000


def held_out(n: int, seed: int) -> list[tuple[Scene, str]]:
    """``n`` one-object held-out scenes and captions: a third bounce, a third go left or right."""
    rng = np.random.default_rng([seed, 2020])
    out = []
    for i in range(n):
        wanted = GROUPS[i % len(GROUPS)]
        scene = sample_scene(rng, "heldout", n_objects=1)
        while scene.objects[0].motion not in wanted:
            scene = sample_scene(rng, "heldout", n_objects=1)
        out.append((scene, caption(scene, rng)))
    return out


def to_48k(samples: np.ndarray, rate: int) -> np.ndarray:
    """(2, S) at ``rate`` -> (2, S') at 48 kHz, by libswresample (PyAV), as media would."""
    resampler = av.AudioResampler(format="fltp", layout="stereo", rate=DELIVERY_RATE)
    frame = av.AudioFrame.from_ndarray(
        np.ascontiguousarray(samples, np.float32), format="fltp", layout="stereo"
    )
    frame.sample_rate, frame.pts = rate, 0
    out = [*resampler.resample(frame), *resampler.resample(None)]
    return np.concatenate([f.to_ndarray() for f in out], axis=1)


def deliver(samples: np.ndarray, rate: int) -> np.ndarray:
    """What a file carries: 48 kHz, -16 LUFS, AAC in an MP4, decoded again by PyAV."""
    x = to_48k(samples, rate).astype(np.float64)
    meter = pyloudnorm.Meter(DELIVERY_RATE)
    with warnings.catch_warnings():  # "possible clipped samples": clipped below, as media does
        warnings.simplefilter("ignore")
        x = pyloudnorm.normalize.loudness(x.T, meter.integrated_loudness(x.T), -16.0).T
    x = np.clip(x, -1, 1).astype(np.float32)  # a knock's peak may pass full scale at -16 LUFS
    buffer = io.BytesIO()
    with av.open(buffer, "w", format="mp4") as container:
        stream = container.add_stream("aac", rate=DELIVERY_RATE, layout="stereo")
        for i in range(0, x.shape[1], 1024):
            frame = av.AudioFrame.from_ndarray(
                np.ascontiguousarray(x[:, i : i + 1024]), format="fltp", layout="stereo"
            )
            frame.sample_rate, frame.pts = DELIVERY_RATE, i
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    buffer.seek(0)
    with av.open(buffer) as container:
        return np.concatenate([f.to_ndarray() for f in container.decode(audio=0)], axis=1)


def crossing(curve: np.ndarray) -> float | None:
    """Where ``curve`` first crosses halfway from its start to its end (fractional index)."""
    ok = np.isfinite(curve)
    if ok.sum() < 4:
        return None
    idx = np.flatnonzero(ok)
    values = curve[ok]
    head, tail = (
        np.median(values[: max(2, len(values) // 8)]),
        np.median(values[-max(2, len(values) // 8) :]),
    )
    half = (head + tail) / 2
    side = np.sign(values - half) * np.sign(tail - head)
    after = np.flatnonzero(side > 0)
    if len(after) == 0 or after[0] == 0:
        return None
    k = after[0]
    a, b = values[k - 1] - half, values[k] - half
    return float(idx[k - 1] + (idx[k] - idx[k - 1]) * a / (a - b))


def lowest_frames(track: np.ndarray, n: int) -> list[float]:
    """Frames where the picture's object touches the floor: near the clip's ends and middle,
    the frame (to a fraction, by a parabola) where it is lowest."""
    y = track[:, 1]
    out = []
    for centre in (0.0, 0.5, 1.0):
        lo, hi = int(max(0, centre * (n - 1) - n / 8)), int(min(n, centre * (n - 1) + n / 8 + 1))
        window = np.where(np.isfinite(y[lo:hi]), y[lo:hi], -np.inf)
        k = lo + int(np.argmax(window))
        if 0 < k < n - 1 and np.all(np.isfinite(y[k - 1 : k + 2])):
            a, b, c = y[k - 1], y[k], y[k + 1]
            k_frac = k + (0.5 * (a - c) / (a - 2 * b + c) if a - 2 * b + c < 0 else 0.0)
        else:
            k_frac = float(k)
        out.append(k_frac)
    return out


def judge(scene: Scene, frames: np.ndarray, heard: Hearing) -> dict[str, Any]:
    obj, n = scene.objects[0], len(frames)
    reading = analyse(frames)
    track = np.array(reading.objects[0].track) if reading.objects else np.full((n, 2), np.nan)
    onsets = np.array(heard.onsets)
    result: dict[str, Any] = {"motion": obj.motion.value, "color": heard.color == obj.color}
    designed = [0.0] + ([0.5 * (n - 1), n - 1.0] if obj.motion is Motion.BOUNCING else [])
    result["spurious_onsets"] = int(sum(np.min(np.abs(o - np.array(designed))) > 1 for o in onsets))
    events = [(onsets.min() if len(onsets) else np.inf) - 0.0]
    if obj.motion is Motion.BOUNCING:
        contacts = [c * (n - 1) for c in (0.0, 0.5, 1.0)]
        result["contacts"] = [bool(np.any(np.abs(onsets - c) <= 1.0)) for c in contacts]
        for seen in lowest_frames(track, n)[1:]:
            if len(onsets):
                events.append(onsets[np.argmin(np.abs(onsets - seen))] - seen)
    if obj.motion in (Motion.LEFT, Motion.RIGHT):
        quarter = max(1, n // 4)
        moved = float(np.mean(heard.pan[-quarter:]) - np.mean(heard.pan[:quarter]))
        want = 1 if obj.motion is Motion.RIGHT else -1
        result["pan_follows"] = moved * want >= 0.2
        seen, said = crossing(track[:, 0]), crossing(heard.pan)
        if seen is not None and said is not None:
            events.append(said - seen)
    result["offset_frames"] = float(np.median(events))
    return result


def time_share(soundtrack: CinegenTinySoundtrack, preset: Preset) -> dict[str, float]:
    engine = Engine(Settings(default_model="cinegen-tiny", visible_mark=False))
    fields = dict(prompt="a red circle bouncing on a night sky", width=854, height=480)
    spec = parse_spec({**fields, "n_frames": 120, "fps": 24, "seed": 7, "preset": preset.value})
    engine.run(spec)  # load and warm up once
    t0 = time.perf_counter()
    frames = engine.run(spec).variant(0)
    video = time.perf_counter() - t0
    t0 = time.perf_counter()
    soundtrack(frames, fps=24, prompt=spec.prompt, seed=7)
    audio = time.perf_counter() - t0
    return {
        "video_s": round(video, 3),
        "audio_s": round(audio, 3),
        "audio_share": round(audio / (video + audio), 4),
    }


def share(values: list[bool]) -> float:
    return round(sum(values) / max(1, len(values)), 4)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--prompts", type=int, default=24)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--preset", default="quality", choices=[p.value for p in Preset])
    args = parser.parse_args()
    preset = Preset(args.preset)
    config = CINEGEN_TINY.presets[preset]
    pipeline, soundtrack = TinyPipeline.load(), CinegenTinySoundtrack(TinySoundtrack())
    cases = held_out(args.prompts, args.seed)
    results = []
    for start in range(0, len(cases), 8):
        batch = cases[start : start + 8]
        seeds = [args.seed * 1000 + start + i for i in range(len(batch))]
        clips = pipeline([c for _, c in batch], seeds, steps=config.steps, guidance=config.guidance)
        for k, ((scene, text), clip) in enumerate(zip(batch, clips, strict=True)):
            width, height, fps, n = DELIVERIES[(start + k) % len(DELIVERIES)]
            frames = resample_video(clip, n, width, height)
            made = soundtrack(frames, fps=fps, prompt=text, seed=seeds[k])
            delivered = deliver(made.samples[0], made.rate)
            results.append(judge(scene, frames, hear(delivered, DELIVERY_RATE, n, fps)))
    contacts = [hit for r in results for hit in r.get("contacts", [])]
    inner = [hit for r in results for hit in r.get("contacts", [])[1:]]
    offsets = [r["offset_frames"] for r in results]
    report = {
        "prompts": len(results),
        "preset": preset.value,
        "contacts_with_onset": share(contacts),
        "contacts_with_onset_target": 0.9,
        "inner_contacts_with_onset": share(inner),
        "pitch_class_is_colour": share([r["color"] for r in results]),
        "pitch_class_is_colour_target": 0.8,
        "pan_follows_motion": share([r["pan_follows"] for r in results if "pan_follows" in r]),
        "pan_follows_motion_target": 0.9,
        "spurious_onsets_per_clip": round(
            float(np.mean([r["spurious_onsets"] for r in results])), 3
        ),
        "offset_frames_median": round(statistics.median(offsets), 3),
        "offset_frames_median_abs": round(statistics.median(abs(o) for o in offsets), 3),
        "offset_frames_target": 1.0,
        "offset_measured_clips": len(offsets),
        "time": time_share(soundtrack, preset),
        "audio_share_target": 0.15,
        "sample_rate": RATE,
    }
    print(json.dumps(report))


if __name__ == "__main__":
    main()
