"""The scene planner: one prompt becomes the shots of a short film, the original first.

Sora expanded a prompt into follow-up shot prompts so that a film holds together across
cuts: the same subject, setting and style, with the action moving on ("a woman walks
through a neon-lit Seoul street at night" -> "she pauses under a bright sign, ..."). The
shots are a task's ``actions`` (Sora dialect) and are written to the sidecar.

``plan_shots`` works offline by rules, deterministically (the same prompt, the same shots):

- a prompt in the embedded model's world (a colour, a shape, a motion) keeps its words and
  swaps the motion for others the model knows, so every shot is one cinegen-tiny can make;
- any other prompt is read as subject, action and setting (``read_scene``); the follow-ups
  refer back to the subject ("she", "the dog"), keep the setting and any style words after
  a comma, and take their beats from tables by kind of subject and setting.

With ``Settings.planner_url`` set it asks an OpenAI-compatible chat-completions endpoint
for a strict JSON reply and falls back to the rules on any failure: planning never fails a
generation.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from dataclasses import dataclass
from typing import Any

from cinegen.config import Settings

log = logging.getLogger(__name__)

SHOTS = 4  # the original and three follow-ups
LLM_TIMEOUT_S = 20.0

# --- the embedded model's world ------------------------------------------------------------
# Motions to move on to, in order, from each motion: the opposite way first, then a change
# of kind. Circles never spin (a spinning circle looks still), so spinning is skipped.
_NEXT_MOTIONS = {
    "left": ("right", "bouncing", "shrinking"),
    "right": ("left", "bouncing", "shrinking"),
    "up": ("down", "spinning", "growing"),
    "down": ("up", "bouncing", "shrinking"),
    "bouncing": ("right", "spinning", "shrinking"),
    "spinning": ("up", "bouncing", "growing"),
    "growing": ("shrinking", "spinning", "left"),
    "shrinking": ("growing", "bouncing", "right"),
}
_FALLBACK_MOTIONS = ("bouncing", "left", "right", "up", "down", "growing", "shrinking")


def _toy_shots(prompt: str) -> list[str] | None:
    """Follow-ups for a prompt in cinegen-tiny's world, or None if it is not one."""
    from cinegen.models.tiny.prompt import parse_prompt
    from cinegen.models.tiny.vocab import MOTION_WORDS, Motion, Shape, phrases

    wanted = parse_prompt(prompt)
    if wanted.color is None or wanted.shape is None or wanted.motion is None:
        return None
    motion_phrases = sorted(phrases(Motion), key=len, reverse=True)
    lowered = prompt.lower()
    for phrase in motion_phrases:
        found = re.search(rf"(?<![a-z]){re.escape(phrase)}(?![a-z])", lowered)
        if found and phrases(Motion)[phrase] == wanted.motion:
            break
    else:
        return None
    participle = phrase.endswith("ing") or phrase.split()[0].endswith("ing")
    shots = [prompt]
    for name in _NEXT_MOTIONS[wanted.motion.value]:
        motion = Motion(name)
        if motion is Motion.SPINNING and wanted.shape is Shape.CIRCLE:
            motion = Motion(next(m for m in _FALLBACK_MOTIONS if m != wanted.motion.value))
        third, ing = MOTION_WORDS[motion].train[0]
        words = ing if participle else third
        shots.append(prompt[: found.start()] + words + prompt[found.end() :])
    return shots


# --- any other prompt --------------------------------------------------------------------
_PRONOUNS = {
    "she": ("woman", "girl", "lady", "mother", "queen", "actress", "ballerina", "nun", "bride"),
    "he": ("man", "boy", "guy", "father", "king", "actor", "monk", "knight", "groom"),
    "they": ("people", "couple", "crowd", "children", "friends", "family", "dancers", "kids"),
}
_KINDS = {
    "person": ("woman", "girl", "lady", "man", "boy", "guy", "person", "child", "kid", "people",
               "couple", "crowd", "dancer", "dancers", "astronaut", "chef", "knight", "robot",
               "samurai", "skater", "surfer", "runner", "musician", "detective", "soldier"),
    "animal": ("dog", "cat", "fox", "bird", "horse", "wolf", "bear", "deer", "whale", "fish",
               "dragon", "owl", "eagle", "lion", "tiger", "rabbit", "puppy", "kitten", "corgi",
               "elephant", "butterfly", "dolphin", "shark", "panda", "monkey", "duck",
               "retriever", "labrador", "poodle", "puppy", "squirrel", "cow", "sheep"),
    "vehicle": ("car", "train", "bus", "boat", "ship", "plane", "truck", "bike", "bicycle",
                "motorcycle", "taxi", "tram", "rocket", "spaceship", "submarine", "drone"),
}  # fmt: skip
_BEATS = {
    # {s} and {es} are verb endings: "she pauses", "they pause".
    "person": (
        "pause{s} and look{s} around",
        "turn{s} toward the camera with a faint smile",
        "look{s} up, lost in thought",
        "glance{s} back over {their} shoulder",
        "take{s} a slow breath and walk{s} on",
        "reach{es} out to touch something nearby",
    ),
    "animal": (
        "stops and sniffs the air",
        "turns its head toward the camera",
        "bounds ahead a few steps",
        "settles down and looks around",
        "perks up at a sound in the distance",
    ),
    "vehicle": (
        "slows down and turns a corner",
        "speeds up, its lights streaking",
        "comes to a stop as the camera circles it",
        "passes close by the camera",
    ),
    "thing": (
        "as the camera slowly moves closer",
        "catching the light as the camera circles around",
        "seen from a low angle as the light shifts",
        "in a close-up that reveals its texture",
    ),
}
_SETTING_CUES = (
    (("street", "city", "neon", "alley", "downtown", "seoul", "tokyo"),
     "under a bright sign, the city lights reflected in a puddle"),
    (("ocean", "sea", "beach", "shore", "waves", "lake", "river"), "as a wave rolls in"),
    (("forest", "woods", "jungle", "trees"), "between tall trees"),
    (("snow", "mountain", "glacier", "winter"), "as snow drifts down"),
    (("desert", "dunes", "sand"), "as the wind lifts the sand"),
    (("sky", "clouds", "space", "stars", "moon"), "as clouds drift past"),
    (("room", "kitchen", "cafe", "café", "library", "studio", "office", "house"),
     "in the soft light of a window"),
)  # fmt: skip
# A moving preposition becomes a still one once the subject has arrived: "walks through a
# street" -> "pauses in a street".
_STILL = {"through": "in", "across": "on", "along": "on", "into": "in", "toward": "near",
          "towards": "near", "past": "by", "around": "in", "down": "on", "up": "on"}  # fmt: skip
_VERB = re.compile(
    r"\b(is|are|was|walks?|runs?|moves?|drifts?|flies|fly|sits?|stands?|dances?|swims?|"
    r"rides?|drives?|floats?|jumps?|plays?|looks?|reads?|cooks?|sings?|sleeps?|waits?|"
    r"rolls?|glides?|races?|climbs?|crosses|wanders?|strolls?|\w+ing)\b"
)
_PLACE = re.compile(
    r"\b(through|in|on|over|across|along|at|under|above|beside|near|into|by|inside|"
    r"around|past|toward|towards|down|up)\b"
)


@dataclass(frozen=True)
class Scene:
    """A prompt read as ``subject action setting, style``; any part may be empty."""

    subject: str  # "a woman"
    action: str  # "walks"
    setting: str  # "through a neon-lit Seoul street at night"
    style: str  # "cinematic, 35 mm" (the words after the first comma)
    kind: str  # person / animal / vehicle / thing

    @property
    def head(self) -> str:
        """The subject's noun: its last word ("woman" of "a young woman")."""
        words = re.findall(r"[a-z]+", self.subject.lower())
        return words[-1] if words else ""

    @property
    def refer(self) -> str:
        """How a follow-up names the subject again: "she", "they", "the dog"."""
        for pronoun, nouns in _PRONOUNS.items():
            if self.head in nouns:
                return pronoun
        if not self.head:
            return "the scene"
        subject = re.sub(r"^(a|an|the|one|some)\s+", "", self.subject.strip(), flags=re.I)
        return f"the {subject}"


def read_scene(prompt: str) -> Scene:
    main, _, style = prompt.strip().rstrip(".!").partition(",")
    verb = _VERB.search(main)
    if verb and verb.start() > 0:
        subject, rest = main[: verb.start()].strip(), main[verb.start() :].strip()
    else:  # no verb: "a lighthouse in a storm" is a subject and its setting
        place = _PLACE.search(main)
        subject, rest = (main[: place.start()], main[place.start() :]) if place else (main, "")
    place = _PLACE.search(rest)
    action, setting = (rest[: place.start()], rest[place.start() :]) if place else (rest, "")
    return Scene(subject.strip(), action.strip(), setting.strip(), style.strip(), _kind(subject))


def _kind(subject: str) -> str:
    head = (re.findall(r"[a-z]+", subject.lower()) or [""])[-1]
    nouns = {head, head.removesuffix("s")}
    if any(nouns & set(words) for words in _PRONOUNS.values()):
        return "person"
    return next((k for k, words in _KINDS.items() if nouns & set(words)), "thing")


def _rule_shots(prompt: str) -> list[str]:
    toy = _toy_shots(prompt)
    if toy is not None:
        return toy
    scene = read_scene(prompt)
    digest = int.from_bytes(hashlib.sha256(prompt.encode()).digest()[:8], "big")
    beats = _BEATS[scene.kind]
    start = digest % len(beats)
    lowered = prompt.lower()
    cue = next((c for words, c in _SETTING_CUES if any(w in lowered for w in words)), "")
    their = {"she": "her", "he": "his", "they": "their"}.get(scene.refer, "its")
    first, _, rest = scene.setting.partition(" ")
    still = f"{_STILL.get(first.lower(), first)} {rest}".strip()
    shots = [prompt]
    for i in range(SHOTS - 1):
        plural = scene.refer == "they"
        beat = beats[(start + i) % len(beats)].format(
            their=their, s="" if plural else "s", es="" if plural else "es"
        )
        if scene.kind == "thing":  # the shot changes, not the subject's action
            text = f"{scene.subject} {scene.action} {scene.setting}, {beat}"
        else:  # the setting's cue once, in the first follow-up; the setting in the others
            refer = scene.refer[0].upper() + scene.refer[1:]
            text = f"{refer} {beat} {cue if i == 0 and cue else still}"
        text = re.sub(r"\s+,", ",", " ".join(text.split())).strip(" ,")
        shots.append(f"{text}, {scene.style}" if scene.style else text)
    return shots


# --- an OpenAI-compatible chat model ----------------------------------------------------------
_SYSTEM = (
    "You plan short films. Given a video prompt, write the next {n} shots as prompts that "
    "keep the same subject, setting and visual style while the action moves on. Refer "
    'back to the subject. Reply with JSON only: {{"shots": ["...", "...", "..."]}}.'
)


class PlannerError(Exception):
    pass


def _llm_shots(prompt: str, settings: Settings) -> list[str]:
    import httpx

    n = SHOTS - 1
    body: dict[str, Any] = {
        "model": settings.planner_model,
        "messages": [
            {"role": "system", "content": _SYSTEM.format(n=n)},
            {"role": "user", "content": prompt},
        ],
        "response_format": {"type": "json_object"},
        "temperature": 0.7,
    }
    headers = (
        {"Authorization": f"Bearer {settings.planner_api_key}"} if settings.planner_api_key else {}
    )
    url = settings.planner_url.rstrip("/") + "/chat/completions"
    try:
        reply = httpx.post(url, json=body, headers=headers, timeout=LLM_TIMEOUT_S)
        reply.raise_for_status()
        content = reply.json()["choices"][0]["message"]["content"]
        shots = json.loads(content)["shots"]
    except (httpx.HTTPError, ValueError, KeyError, IndexError, TypeError) as exc:
        raise PlannerError(f"the planner at {url} gave no usable reply: {exc}") from exc
    if not (
        isinstance(shots, list)
        and len(shots) == n
        and all(isinstance(s, str) and s.strip() for s in shots)
    ):
        raise PlannerError(f"the planner at {url} did not reply with {n} shot prompts")
    return [prompt, *(s.strip() for s in shots)]


def plan_shots(prompt: str, settings: Settings | None = None) -> list[str]:
    """The original prompt and ``SHOTS - 1`` follow-up shot prompts."""
    if settings is not None and settings.planner_url:
        try:
            return _llm_shots(prompt, settings)
        except PlannerError as exc:
            log.warning("%s; planning by rules", exc)
    return _rule_shots(prompt)
