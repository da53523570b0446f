"""Moderation: whether a request falls under the deployment's content policy.

The result has the shape of OpenAI's moderation response (``flagged``, ``categories``,
``category_scores``). Offline by default: the word lists and rules in ``phrases`` score each
category from 0 to 1. With ``moderation_url`` set, an OpenAI-compatible ``/v1/moderations``
endpoint scores the same texts as well and the higher score counts; if it fails, the
offline scores stand (and a warning is logged). ``moderation_categories`` says which
categories a deployment enforces, ``moderation_thresholds`` from what score. Nothing is ever
rewritten: a request is served as asked or refused, naming the category.
"""

from __future__ import annotations

import functools
import logging
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from cinegen.config import MODERATION_CATEGORIES, Settings
from cinegen.errors import CinegenError
from cinegen.safety import phrases
from cinegen.spec import GenerationSpec

log = logging.getLogger(__name__)

# sexual/minors, sexual, violence/graphic, self-harm, hate (OpenAI's names), public-figures
# (real public figures and impersonation), elections (election and candidate deepfakes).
CATEGORIES: tuple[str, ...] = MODERATION_CATEGORIES
DEFAULT_THRESHOLD = 0.5
REMOTE_TIMEOUT_S = 10.0
# OpenAI's category names -> ours (the others are not this policy's).
REMOTE_CATEGORIES = {
    "sexual/minors": "sexual/minors",
    "sexual": "sexual",
    "violence/graphic": "violence/graphic",
    "self-harm": "self-harm",
    "self-harm/intent": "self-harm",
    "self-harm/instructions": "self-harm",
    "hate": "hate",
    "hate/threatening": "hate",
}
# Surnames that name one person wherever they appear in a prompt.
PUBLIC_SURNAMES = ("trump", "biden", "obama", "putin", "zelensky", "macron", "netanyahu")


@dataclass(frozen=True)
class ModerationResult:
    flagged: bool
    categories: dict[str, bool]
    category_scores: dict[str, float]

    @property
    def reasons(self) -> list[str]:
        """The flagged categories, highest score first."""
        flagged = [c for c, on in self.categories.items() if on]
        return sorted(flagged, key=lambda c: -self.category_scores[c])


class ContentPolicyViolation(CinegenError):
    """A request this deployment's policy refuses; ``field`` names what was refused."""

    def __init__(self, result: ModerationResult, field: str = "prompt") -> None:
        self.result, self.field = result, field
        named = ", ".join(f"{c} ({result.category_scores[c]:.2f})" for c in result.reasons)
        if field == "output":
            message = (
                f"the generated video was withheld by this server's content policy: {named}. "
                "No file was kept; try another prompt or seed"
            )
        else:
            message = (
                f"{field} was refused by this server's content policy: {named}. Nothing was "
                "queued; rephrase the request (the operator sets the policy's categories)"
            )
        super().__init__(message)

    @property
    def is_output_rejection(self) -> bool:
        return self.field == "output"


def moderate(texts: Sequence[str], settings: Settings) -> ModerationResult:
    """Score ``texts`` together (each category's highest score over them) and flag the
    categories the deployment enforces whose score reaches their threshold."""
    scores = dict.fromkeys(CATEGORIES, 0.0)
    for text in texts:
        for category, score in offline_scores(text).items():
            scores[category] = max(scores[category], score)
    if settings.moderation_url:
        try:
            for category, score in _remote_scores(texts, settings).items():
                scores[category] = max(scores[category], score)
        except RemoteModerationError as exc:
            log.warning("%s; moderating by the offline rules alone", exc)
    flags = {
        c: c in settings.moderation_categories
        and scores[c] >= settings.moderation_thresholds.get(c, DEFAULT_THRESHOLD)
        for c in CATEGORIES
    }
    return ModerationResult(any(flags.values()), flags, {c: round(s, 4) for c, s in scores.items()})


def check_request(spec: GenerationSpec, settings: Settings) -> ModerationResult:
    """Moderate what a request asks the model for (its prompt and every shot's, with the
    characters they mention described); raise ``ContentPolicyViolation`` if flagged. The
    negative prompt is not checked: it lists what to keep out."""
    texts = [spec.cast(spec.prompt), *(spec.cast(shot.prompt) for shot in spec.storyboard)]
    result = moderate(texts, settings)
    if result.flagged:
        raise ContentPolicyViolation(result)
    return result


# --- the offline rules ---------------------------------------------------------------------
_LOOKALIKES = str.maketrans("013457@$", "oieastas")


def normalise(text: str, fold: bool = True) -> str:
    """Lower case, accents and invisible characters (zero-width spaces …) dropped, digits
    that stand for letters inside words read as the letters ("p0rn") unless ``fold`` is
    off, everything but letters and digits a single space."""
    plain = unicodedata.normalize("NFKD", text)
    plain = "".join(
        ch for ch in plain if not unicodedata.combining(ch) and unicodedata.category(ch) != "Cf"
    ).lower()
    words = []
    for word in re.split(r"\s+", plain):
        if fold and re.search(r"[a-z]", word) and re.search(r"[0-9@$]", word):
            word = word.translate(_LOOKALIKES)
        words.append(word)
    return re.sub(r"[^a-z0-9]+", " ", " ".join(words)).strip()


def offline_scores(text: str) -> dict[str, float]:
    """Each category's score for ``text`` by the word lists and rules in ``phrases``."""
    plain = normalise(text)
    sexual_text = re.sub(phrases.NOT_SEXUAL, " ", plain)
    sexual = _score(phrases.SEXUAL, sexual_text)
    # Ages are read before look-alike folding ("12-year-old" must not become "i2 year old").
    minor = max(_score(phrases.MINOR, plain), _score(phrases.MINOR, normalise(text, fold=False)))
    public = max(
        1.0 if _public_figures().search(plain) else 0.0, _score(phrases.IMPERSONATION, plain)
    )
    election = re.search(phrases.ELECTION, plain) is not None
    elections = (0.9 if re.search(phrases.RIGGING, plain) else 0.3) if election else 0.0
    if public >= 0.9 and elections > 0:  # a named politician and an election: a deepfake ask
        elections = max(elections, 0.9)
    return {
        # A sexual ask about anyone under age, in any words: the strictest category.
        "sexual/minors": max(
            _score(phrases.SEXUAL_MINORS, plain), 1.0 if sexual >= 0.5 and minor else 0.0
        ),
        "sexual": sexual,
        "violence/graphic": _score(phrases.VIOLENCE_GRAPHIC, plain),
        "self-harm": _score(phrases.SELF_HARM, plain),
        "hate": _score(phrases.HATE, plain),
        "public-figures": public,
        "elections": elections,
    }


def _score(patterns: phrases.Patterns, text: str) -> float:
    return max((score for pattern, score in patterns if re.search(pattern, text)), default=0.0)


@functools.cache
def _public_figures() -> re.Pattern[str]:
    names = [normalise(name) for name in phrases.PUBLIC_FIGURES] + list(PUBLIC_SURNAMES)
    return re.compile(r"\b(" + "|".join(re.escape(n) for n in names) + r")\b")


# --- an OpenAI-compatible endpoint -------------------------------------------------------------
class RemoteModerationError(Exception):
    pass


def _remote_scores(texts: Sequence[str], settings: Settings) -> dict[str, float]:
    import httpx

    url = settings.moderation_url.rstrip("/") + "/moderations"
    key = settings.moderation_api_key.get_secret_value()
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    body: dict[str, Any] = {"model": settings.moderation_model, "input": list(texts)}
    try:
        reply = httpx.post(url, json=body, headers=headers, timeout=REMOTE_TIMEOUT_S)
        reply.raise_for_status()
        results = reply.json()["results"]
        scores: dict[str, float] = {}
        for result in results:
            for name, score in result["category_scores"].items():
                if name in REMOTE_CATEGORIES:
                    ours = REMOTE_CATEGORIES[name]
                    scores[ours] = max(scores.get(ours, 0.0), float(score))
    except (httpx.HTTPError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise RemoteModerationError(
            f"the moderation endpoint {url} gave no usable reply: {exc}"
        ) from exc
    return scores
