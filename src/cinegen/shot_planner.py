"""The shot planner: one prompt becomes the shots of a short film, the original first.

Sora expanded a prompt into follow-up shot prompts so that a film holds together across
cuts: the same subject, setting and style, with the action moving on ("a woman walks
through a neon-lit Seoul street at night" -> "she pauses under a bright sign, ..."). The
shots are a task's ``actions`` (Sora dialect) and are written to the sidecar.

``shots_for`` works offline by rules, deterministically (the same prompt, the same shots):

- a prompt in the embedded model's world (a colour, a shape, a motion) keeps its words and
  swaps the motion for others the model knows, so every shot is one cinegen-tiny can make;
- any other prompt is read as subject, action and setting (``split_prompt``); the follow-ups
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
# of kind. Circles never spin (a spinning circle looks still): spinning gives way to the
# first of _INSTEAD_OF_SPINNING that is not the prompt's own motion.
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
_INSTEAD_OF_SPINNING = ("bouncing", "left", "right", "up", "down", "growing", "shrinking")
# A motion named by a bare word ("drifting left", "watch it bounce") moves on within its
# word class, so the sentence around it still reads.
_DIRECTIONS = {"left": "right", "right": "left", "up": "down", "down": "up"}
_BARE_VERBS = ("bounce", "spin", "grow", "shrink", "move right", "move left")


def _toy_shots(prompt: str) -> list[str] | None:
    """Follow-ups for a prompt in cinegen-tiny's world, or None if it is not one."""
    from cinegen.models.tiny.prompt import parse_prompt
    from cinegen.models.tiny.vocab import MOTION_WORDS, PROMPT_ONLY_WORDS, Motion, Shape, phrases

    wanted = parse_prompt(prompt)
    if wanted.color is None or wanted.shape is None or wanted.motion is None:
        return None
    table = phrases(Motion)
    lowered = prompt.lower()
    for phrase in sorted(table, key=len, reverse=True):  # the longest naming phrase wins
        found = re.search(rf"(?<![a-z]){re.escape(phrase)}(?![a-z])", lowered)
        if found and table[phrase] == wanted.motion:
            break
    else:
        return None
    spins = wanted.shape is not Shape.CIRCLE
    start = found.start()
    if phrase in PROMPT_ONLY_WORDS[Motion]:
        words = _bare_successors(phrase, spins)
        if lowered[:start].endswith("to the "):  # "to the right" -> "to the left", "up"
            start -= len("to the ")
            words = [f"to the {w}" if w in ("left", "right") else w for w in words]
    else:
        participle = phrase.split()[0].endswith("ing")
        names = [
            name
            if name != "spinning" or spins
            else next(m for m in _INSTEAD_OF_SPINNING if m != wanted.motion.value)
            for name in _NEXT_MOTIONS[wanted.motion.value]
        ]
        words = [MOTION_WORDS[Motion(name)].train[0][1 if participle else 0] for name in names]
    return [prompt, *(prompt[:start] + w + prompt[found.end() :] for w in words)]


def _bare_successors(word: str, spins: bool) -> list[str]:
    """Three other bare words for a bare motion word: the other directions of a direction
    ("left" -> "right", "up", "down"; "-ward" kept), other verbs of a verb ("bounce" ->
    "spin", "grow", "shrink"; a circle "moves right" rather than spins)."""
    stem = word.removesuffix("ward")
    if stem in _DIRECTIONS:
        others = [
            _DIRECTIONS[stem],
            *(d for d in _DIRECTIONS if d not in (stem, _DIRECTIONS[stem])),
        ]
        return [d + ("ward" if word.endswith("ward") else "") for d in others]
    verb = "spin" if word == "rotate" else word
    return [v for v in _BARE_VERBS if v != verb and (spins or v != "spin")][:3]


# --- any other prompt --------------------------------------------------------------------
_PRONOUNS = {
    "she": ("woman", "girl", "lady", "mother", "queen", "actress", "ballerina", "nun", "bride"),
    "he": ("man", "boy", "guy", "father", "king", "actor", "monk", "knight", "groom"),
    "they": ("people", "couple", "crowd", "children", "friends", "family", "dancers", "kids"),
}
_KINDS = {
    "person": ("person", "child", "kid", "dancer", "astronaut", "chef", "robot", "samurai",
               "skater", "surfer", "runner", "musician", "detective", "soldier", "student",
               "teenager", "farmer", "pilot", "doctor", "artist", "painter", "singer",
               "warrior", "wizard", "witch", "climber", "hiker", "cyclist", "fisherman"),
    "animal": ("dog", "cat", "fox", "bird", "horse", "wolf", "bear", "deer", "whale", "fish",
               "dragon", "owl", "eagle", "lion", "tiger", "rabbit", "puppy", "kitten", "corgi",
               "elephant", "butterfly", "dolphin", "shark", "panda", "monkey", "duck", "husky",
               "retriever", "labrador", "poodle", "squirrel", "cow", "sheep", "goat", "turtle",
               "penguin", "otter", "frog", "bee", "hummingbird", "jellyfish", "octopus"),
    "vehicle": ("car", "train", "bus", "boat", "ship", "plane", "truck", "bike", "bicycle",
                "motorcycle", "taxi", "tram", "rocket", "spaceship", "submarine", "drone",
                "sailboat", "yacht", "helicopter", "airplane", "jeep", "van", "scooter"),
}  # fmt: skip
_BEATS = {
    # Verb endings and pronouns follow the subject: {s} / {es} ("she pauses", "they
    # pause"), {their} ("her", "his", "its", "their"), {them} ("it", "them").
    "person": (
        "pause{s} and look{s} around",
        "turn{s} toward the camera with a faint smile",
        "look{s} up, lost in thought",
        "glance{s} back over {their} shoulder",
        "take{s} a slow breath and walk{s} on",
        "reach{es} out to touch something nearby",
    ),
    "animal": (
        "stop{s} and sniff{s} the air",
        "look{s} toward the camera",
        "bound{s} ahead a few steps",
        "settle{s} down and look{s} around",
        "perk{s} up at a sound in the distance",
    ),
    "vehicle": (
        "slow{s} down and turn{s} a corner",
        "speed{s} up, {their} lights streaking",
        "come{s} to a stop as the camera circles {them}",
        "pass{es} close by the camera",
    ),
    "thing": (
        "as the camera slowly moves closer",
        "catching the light as the camera circles around",
        "seen from a low angle as the light shifts",
        "in a close-up that reveals its texture",
    ),
}
_SETTING_CUES = (
    (("street", "streets", "city", "neon", "alley", "downtown", "seoul", "tokyo"),
     "under a bright sign, the city lights reflected in a puddle"),
    (("ocean", "sea", "beach", "shore", "waves", "lake", "river"), "as a wave rolls in"),
    (("forest", "woods", "jungle", "trees"), "between tall trees"),
    (("snow", "snowy", "mountain", "mountains", "glacier", "winter"), "as snow drifts down"),
    (("desert", "dunes", "sand"), "as the wind lifts the sand"),
    (("sky", "clouds", "space", "stars", "moon"), "as clouds drift past"),
    (("room", "kitchen", "cafe", "café", "library", "studio", "office", "house"),
     "in the soft light of a window"),
)  # fmt: skip
# A moving preposition becomes a still one once the subject has arrived: "walks through a
# street" -> "pauses in a street".
_STILL = {"through": "in", "across": "on", "along": "on", "into": "in", "toward": "near",
          "towards": "near", "past": "by", "around": "in", "down": "on", "up": "on"}  # fmt: skip
_WORD = r"(?<![\w-])({})(?![\w-])"  # a whole word: "close-up" holds no "up"
_VERB = re.compile(
    _WORD.format(
        r"is|are|was|walks?|runs?|moves?|drifts?|flies|fly|sits?|stands?|dances?|swims?|"
        r"rides?|drives?|floats?|jumps?|plays?|looks?|reads?|cooks?|sings?|sleeps?|waits?|"
        r"rolls?|glides?|races?|climbs?|crosses|wanders?|strolls?|trots?|gallops?|crawls?|"
        r"hops?|leaps?|soars?|sprints?|marches|skates?|surfs?|paddles?|hovers?|sails?|"
        r"spins?|twirls?|rises?|falls?|sways?|glows?|burns?|lies|rests?|eats?|drinks?|"
        r"smiles?|laughs?|watches|holds?|carries|pours?|paints?|writes?|pulls?|pushes|"
        r"chases?|follows?|splashes|dives?|enters?|leaves|opens?|explores?|\w+ing"
    )
)
# Words ending in -ing that are not verbs, so that "a king walks" is a king who walks.
_ING_NOUNS = frozenset(
    (
        "king", "ring", "thing", "wing", "spring", "string", "swing", "building", "morning",
        "evening", "ceiling", "painting", "sibling", "viking", "pudding", "wedding",
        "clothing", "sling", "lightning", "icing", "awning",
    )
)  # fmt: skip
_PLACE = re.compile(
    _WORD.format(
        r"through|in|on|over|across|along|at|under|above|beside|near|into|by|inside|"
        r"around|past|toward|towards|down|up"
    )
)


@dataclass(frozen=True)
class PromptParts:
    """A prompt read as ``subject action setting, style``; any part may be empty."""

    subject: str  # "a woman"
    action: str  # "walks"
    setting: str  # "through a neon-lit Seoul street at night"
    style: str  # "cinematic, 35 mm" (the words after the first comma)
    kind: str  # person / animal / vehicle / thing

    @property
    def head(self) -> str:
        """The subject's noun: "woman" of "a young woman", "train" of "a train with a red
        roof" (the last word before any "with", "of" or place)."""
        return _head(self.subject)

    @property
    def plural(self) -> bool:
        head = self.head
        return head in _PRONOUNS["they"] or (
            head.endswith("s") and any(head[:-1] in nouns for nouns in _KINDS.values())
        )

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

    def fill(self, beat: str) -> str:
        """A beat's verb endings and pronouns for this subject."""
        pronoun = {"she": "her", "he": "his"}.get(self.refer)
        if pronoun is None:  # people without a gendered word are "their", like groups
            pronoun = "their" if self.plural or self.kind == "person" else "its"
        return beat.format(
            s="" if self.plural else "s",
            es="" if self.plural else "es",
            their=pronoun,
            them="them" if self.plural else "it",
        )


def split_prompt(prompt: str) -> PromptParts:
    main, _, style = prompt.strip().rstrip(".!").partition(",")
    main = main.replace("hand in hand", "hand-in-hand")  # together, not a place
    verb = next(
        (m for m in _VERB.finditer(main) if m.group(1).lower() not in _ING_NOUNS and m.start()),
        None,
    )
    if verb is not None:
        subject, rest = main[: verb.start()], main[verb.start() :]
    else:  # no verb: "a lighthouse in a storm" is a subject and its setting
        place = _PLACE.search(main)
        subject, rest = (main[: place.start()], main[place.start() :]) if place else (main, "")
    place = _PLACE.search(rest)
    action, setting = (rest[: place.start()], rest[place.start() :]) if place else (rest, "")
    return PromptParts(
        subject.strip(), action.strip(), setting.strip(), style.strip(), _kind(subject)
    )


def _head(subject: str) -> str:
    core = re.split(r"(?<![\w-])(?:with|of|wearing|holding)(?![\w-])", subject)[0]
    core = _PLACE.split(core)[0]
    words = re.findall(r"[a-z]+", core.lower())
    return words[-1] if words else ""


def _kind(subject: str) -> str:
    head = _head(subject)
    nouns = {head, head.removesuffix("s")}
    if any(nouns & set(words) for words in _PRONOUNS.values()):
        return "person"
    return next((k for k, words in _KINDS.items() if nouns & set(words)), "thing")


def _rule_shots(prompt: str) -> list[str]:
    toy = _toy_shots(prompt)
    if toy is not None:
        return toy
    parts = split_prompt(prompt)
    digest = int.from_bytes(hashlib.sha256(prompt.encode()).digest()[:8], "big")
    beats = _BEATS[parts.kind]
    start = digest % len(beats)
    words = set(re.findall(r"[\w']+", prompt.lower()))
    cue = next((c for names, c in _SETTING_CUES if words & set(names)), "")
    first, _, rest = parts.setting.partition(" ")
    still = f"{_STILL.get(first.lower(), first)} {rest}".strip()
    shots = [prompt]
    for i in range(SHOTS - 1):
        beat = parts.fill(beats[(start + i) % len(beats)])
        if parts.kind == "thing":  # the shot changes, not the subject's action
            text = f"{parts.subject} {parts.action} {parts.setting}, {beat}"
        else:  # the setting's cue once, in the first follow-up; the setting in the others
            refer = parts.refer[0].upper() + parts.refer[1:]
            text = f"{refer} {beat} {cue if i == 0 and cue else still}"
        text = re.sub(r"\s+,", ",", " ".join(text.split())).strip(" ,")
        shots.append(f"{text}, {parts.style}" if parts.style else text)
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
    key = settings.planner_api_key.get_secret_value()
    headers = {"Authorization": f"Bearer {key}"} if key else {}
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


def shots_for(prompt: str, settings: Settings | None = None) -> list[str]:
    """The original prompt and ``SHOTS - 1`` follow-up shot prompts."""
    if settings is not None and settings.planner_url:
        try:
            return _llm_shots(prompt, settings)
        except Exception as exc:  # whatever the endpoint does, the rules stand in
            log.warning("%s; planning by rules", exc)
    return _rule_shots(prompt)
