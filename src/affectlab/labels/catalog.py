"""Named label schemes.

Class order is part of each scheme's contract: a trained model's output ``i`` is
``classes[i]``, so the tuples below must never be reordered or edited in place —
add a new scheme instead. Orders follow the dataset's own convention where one
exists (MELD's alphabetical list, GoEmotions' ``labels.txt``, RAVDESS's emotion
codes 01-08, Plutchik's wheel) so ids line up with published work.

Aliases only cover spellings real datasets use; numeric id schemes that need a
decision (XED ids, IEMOCAP's ``exc``) are handled by :mod:`.mappings`.
"""
from __future__ import annotations

from ..registry import Registry
from .scheme import LabelScheme

SCHEMES: Registry[LabelScheme] = Registry("label scheme")


def _add(
    name: str,
    classes: tuple[str, ...],
    description: str,
    *,
    multi_label: bool = False,
    aliases: dict[str, str] | None = None,
) -> None:
    # A factory per call so callers cannot mutate a shared instance's alias dict.
    SCHEMES.register(name)(
        lambda: LabelScheme(name, classes, multi_label, description, dict(aliases or {}))
    )


MELD7 = ("anger", "disgust", "fear", "joy", "neutral", "sadness", "surprise")
EKMAN6 = ("anger", "disgust", "fear", "joy", "sadness", "surprise")
PLUTCHIK8 = ("joy", "trust", "fear", "surprise", "sadness", "disgust", "anger", "anticipation")
GOEMOTIONS28 = (
    "admiration", "amusement", "anger", "annoyance", "approval", "caring", "confusion",
    "curiosity", "desire", "disappointment", "disapproval", "disgust", "embarrassment",
    "excitement", "fear", "gratitude", "grief", "joy", "love", "nervousness", "optimism",
    "pride", "realization", "relief", "remorse", "sadness", "surprise", "neutral",
)
#: 8 primaries x (mild, basic, intense) in wheel order, then the 8 primary dyads in wheel order.
PLUTCHIK32 = (
    "serenity", "joy", "ecstasy",
    "acceptance", "trust", "admiration",
    "apprehension", "fear", "terror",
    "distraction", "surprise", "amazement",
    "pensiveness", "sadness", "grief",
    "boredom", "disgust", "loathing",
    "annoyance", "anger", "rage",
    "interest", "anticipation", "vigilance",
    "love", "submission", "awe", "disapproval",
    "remorse", "contempt", "aggressiveness", "optimism",
)
_SARCASM_ALIASES = {"true": "sarcastic", "false": "not_sarcastic", "1": "sarcastic", "0": "not_sarcastic"}
# IEMOCAP's consensus line uses 3-letter codes; per-annotator lines use full words.
_IEMOCAP_ALIASES = {
    "neu": "neutral", "neutral state": "neutral", "hap": "happy", "happiness": "happy",
    "ang": "angry", "anger": "angry", "sad": "sad", "sadness": "sad",
}

_add("meld7", MELD7, "MELD's 7 emotions (Ekman 6 + neutral), MELD's alphabetical order.")
_add("sentiment3", ("negative", "neutral", "positive"), "3-way sentiment, MELD's order.")
_add("iemocap4", ("angry", "happy", "neutral", "sad"),
     "IEMOCAP 4-way protocol (excited merged into happy by the mapping).",
     aliases=_IEMOCAP_ALIASES)
_add("iemocap6", ("angry", "excited", "frustrated", "happy", "neutral", "sad"),
     "IEMOCAP 6-way protocol.",
     aliases={**_IEMOCAP_ALIASES, "exc": "excited", "fru": "frustrated", "frustration": "frustrated"})
_add("ekman6", EKMAN6, "Ekman's six basic emotions, alphabetical.")
_add("ekman7", MELD7, "Ekman's six + neutral, in MELD's order so MELD ids line up.")
_add("goemotions28", GOEMOTIONS28,
     "GoEmotions' 27 emotions + neutral, official labels.txt order.", multi_label=True)
_add("plutchik8", PLUTCHIK8, "Plutchik's 8 primaries, wheel order.", multi_label=True)
_add("plutchik8_neutral", PLUTCHIK8 + ("neutral",),
     "Plutchik's 8 primaries + neutral (XED with its neutral file).", multi_label=True)
_add("plutchik32", PLUTCHIK32,
     "The 32 named Plutchik states: 24 intensity levels + 8 primary dyads.")
_add("sarcasm2", ("not_sarcastic", "sarcastic"), "Binary sarcasm.", aliases=_SARCASM_ALIASES)
_add("vader7", (
    "extremely_negative", "very_negative", "negative", "neutral",
    "positive", "very_positive", "extremely_positive",
), "Ordinal 7-level sentiment from the VADER compound score (see labels.vader).")
_add("ravdess8", ("neutral", "calm", "happy", "sad", "angry", "fearful", "disgust", "surprised"),
     "RAVDESS emotions in file-name code order 01-08.",
     aliases={f"{i:02d}": c for i, c in enumerate(
         ("neutral", "calm", "happy", "sad", "angry", "fearful", "disgust", "surprised"), 1)})
# Acted speech corpora: classes are the loaders' decoded file-name codes, in code order;
# aliases accept the raw codes (the loaders keep them in ``emotion_code``).
_add("cremad6", ("anger", "disgust", "fear", "happy", "neutral", "sad"),
     "CREMA-D emotions in file-name code order ANG DIS FEA HAP NEU SAD.",
     aliases={"ang": "anger", "dis": "disgust", "fea": "fear", "hap": "happy", "neu": "neutral"})
_add("tess7", ("angry", "disgust", "fear", "happy", "neutral", "pleasant_surprise", "sad"),
     "TESS emotions in file-name code order (ps = pleasant surprise).",
     aliases={"ps": "pleasant_surprise", "pleasant_surprised": "pleasant_surprise",
              "pleasant surprise": "pleasant_surprise"})
_add("savee7", ("anger", "disgust", "fear", "happiness", "neutral", "sadness", "surprise"),
     "SAVEE emotions in file-name code order a d f h n sa su.",
     aliases={"a": "anger", "d": "disgust", "f": "fear", "h": "happiness", "n": "neutral",
              "sa": "sadness", "su": "surprise"})
_add("emodb7", ("anger", "boredom", "disgust", "fear", "happiness", "sadness", "neutral"),
     "Berlin EmoDB emotions in the documentation's letter order W L E A F T N.",
     aliases={"w": "anger", "l": "boredom", "e": "disgust", "a": "fear", "f": "happiness",
              "t": "sadness", "n": "neutral"})
