"""Raw dataset labels -> a training scheme, as declarative, named tables.

A mapping is data, not code, so every protocol decision (IEMOCAP's ``exc`` ->
happy, GoEmotions' official Ekman grouping, which classes are ambiguous) is
visible in one place and can be cited. ``None`` in a table means "drop this row"
(or, inside a multi-label row, "drop this element").
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Iterable, Protocol, Sequence, Union

from ..errors import LabelError
from ..registry import Registry
from . import plutchik
from .catalog import SCHEMES
from .scheme import LabelScheme

Target = Union[str, tuple[str, ...], None]


@dataclass(frozen=True)
class LabelMapping:
    """A named table from source labels to target-scheme classes.

    ``multi_label`` says whether outputs are tuples (ordered by the target scheme,
    deduplicated) or single strings. Multi-label sources (tuple labels) have each
    element mapped; dropped elements vanish and a row whose elements all drop
    becomes ``None``. Keys are matched case-insensitively after stripping, and
    through the source scheme's aliases when the source is a registered scheme.
    """

    name: str
    source: str
    target: str
    table: dict[str, Target] = field(hash=False)
    description: str = ""
    multi_label: bool = False
    #: The target scheme itself, for a target that is not registered (a scheme declared in a
    #: config); ``None`` looks ``target`` up in the catalog.
    scheme: LabelScheme | None = field(default=None, compare=False)
    #: What to do when labels cannot be mapped (appended to the error).
    hint: str = field(default="", compare=False)

    def __post_init__(self) -> None:
        odd = [k for k in self.table if k != k.strip().lower()]
        if odd:
            raise ValueError(f"mapping {self.name!r}: keys must be stripped lower case: {odd}")

    # -- lookup -----------------------------------------------------------------
    @cached_property
    def _aliases(self) -> dict[str, str]:
        return SCHEMES.create(self.source).aliases if self.source in SCHEMES else {}

    def _key(self, raw: Any) -> str:
        key = str(raw).strip().lower()
        return self._aliases.get(key, key)

    def _targets(self, raw: Any, unknown: set[str]) -> tuple[str, ...]:
        """All target classes for one raw label (str or multi-label collection)."""
        items = [raw] if _is_scalar(raw) else list(raw)
        found: list[str] = []
        for item in items:
            key = self._key(item)
            if key not in self.table:
                unknown.add(repr(item) if not isinstance(item, str) else item)
                continue
            value = self.table[key]
            if value is not None:
                found.extend((value,) if isinstance(value, str) else value)
        return tuple(found)

    def _raise_unknown(self, unknown: set[str]) -> None:
        raise LabelError(
            f"mapping {self.name!r} ({self.source} -> {self.target}) cannot map "
            f"{len(unknown)} label(s): {', '.join(sorted(unknown))}; "
            f"known: {', '.join(self.table)}" + (f"; {self.hint}" if self.hint else "")
        )

    # -- public -----------------------------------------------------------------
    def apply(self, labels: Iterable[Any]) -> list[Target]:
        """Map every label; ``None`` marks a row to drop.

        Raises one ``LabelError`` naming the mapping and listing *all* unmappable
        values, so a user fixes a dataset in one pass.
        """
        classes = self._target_classes()
        order = {c: i for i, c in enumerate(classes)}
        unknown: set[str] = set()
        out: list[Target] = []
        conflicts: list[str] = []
        for raw in labels:
            found = sorted(set(self._targets(raw, unknown)), key=lambda c: (order.get(c, len(order)), c))
            if not found:
                out.append(None)
            elif self.multi_label:
                out.append(tuple(found))
            elif len(found) == 1:
                out.append(found[0])
            else:
                conflicts.append(f"{raw!r} -> {found}")
                out.append(None)
        if unknown:
            self._raise_unknown(unknown)
        if conflicts:
            raise LabelError(
                f"mapping {self.name!r} is single-label but rows map to several "
                f"{self.target} classes: {'; '.join(conflicts[:20])}"
            )
        return out

    def drops(self, label: Any) -> bool:
        """True when ``label`` maps to nothing (the row would be dropped)."""
        unknown: set[str] = set()
        found = self._targets(label, unknown)
        if unknown:
            self._raise_unknown(unknown)
        return not found

    def target_scheme(self) -> LabelScheme:
        """The scheme to encode ``apply``'s output with (multi-label when the mapping is)."""
        scheme = self.scheme if self.scheme is not None else SCHEMES.create(self.target)
        if scheme.multi_label != self.multi_label:
            scheme = dataclasses.replace(scheme, multi_label=self.multi_label)
        return scheme


    def _target_classes(self) -> tuple[str, ...]:
        if self.scheme is not None:
            return self.scheme.classes
        return SCHEMES.create(self.target).classes if self.target in SCHEMES else ()


def _is_scalar(raw: Any) -> bool:
    return isinstance(raw, (str, bytes, bool, int, float)) or not isinstance(raw, Iterable)


MAPPINGS: Registry[LabelMapping] = Registry("label mapping")


def _add(name: str, table: dict[str, Target], description: str, *, multi_label: bool = False) -> None:
    source, target = name.split("->")
    mapping = LabelMapping(name, source, target, dict(table), description, multi_label)
    MAPPINGS.register(name)(lambda: dataclasses.replace(mapping, table=dict(mapping.table)))


def _invert(groups: dict[str, Sequence[str]]) -> dict[str, str]:
    """{target: [sources]} -> {source: target}; the published mappings are written this way."""
    return {src: tgt for tgt, sources in groups.items() for src in sources}


# --- IEMOCAP ------------------------------------------------------------------------
_IEMOCAP_OTHERS = ("sur", "fea", "dis", "oth", "xxx")
_add("iemocap_raw->iemocap4", {
    "neu": "neutral", "hap": "happy", "exc": "happy", "ang": "angry", "sad": "sad",
    "fru": None, **dict.fromkeys(_IEMOCAP_OTHERS),
}, "Standard 4-way IEMOCAP protocol: excited merged into happy; frustrated, surprised, "
   "fearful, disgusted, other and no-agreement (xxx) rows dropped.")
_add("iemocap_raw->iemocap6", {
    "neu": "neutral", "hap": "happy", "exc": "excited", "ang": "angry", "sad": "sad",
    "fru": "frustrated", **dict.fromkeys(_IEMOCAP_OTHERS),
}, "6-way IEMOCAP: the six most frequent classes; sur/fea/dis/oth/xxx rows dropped.")

# --- GoEmotions (google-research/goemotions data/ekman_mapping.json, sentiment_mapping.json)
_add("goemotions28->ekman7", {**_invert({
    "anger": ["anger", "annoyance", "disapproval"],
    "disgust": ["disgust"],
    "fear": ["fear", "nervousness"],
    "joy": ["joy", "amusement", "approval", "excitement", "gratitude", "love", "optimism",
            "relief", "pride", "admiration", "desire", "caring"],
    "sadness": ["sadness", "disappointment", "embarrassment", "grief", "remorse"],
    "surprise": ["surprise", "realization", "confusion", "curiosity"],
}), "neutral": "neutral"},
    "Official GoEmotions Ekman grouping (ekman_mapping.json) plus neutral; multi-label.",
    multi_label=True)
_add("goemotions28->sentiment3", {**_invert({
    "positive": ["amusement", "excitement", "joy", "love", "desire", "optimism", "caring",
                 "pride", "admiration", "gratitude", "relief", "approval"],
    "negative": ["fear", "nervousness", "remorse", "embarrassment", "disappointment",
                 "sadness", "grief", "disgust", "anger", "annoyance", "disapproval"],
}), **dict.fromkeys(("realization", "surprise", "curiosity", "confusion")), "neutral": "neutral"},
    "Official GoEmotions sentiment grouping (sentiment_mapping.json) plus neutral; its "
    "'ambiguous' group (realization, surprise, curiosity, confusion) has no sentiment3 "
    "class, so those labels are dropped (a row of only ambiguous labels is dropped). "
    "Multi-label: a row may be both positive and negative.",
    multi_label=True)

# --- Ekman-style 7-way -> sentiment -------------------------------------------------
_EKMAN_SENTIMENT = {
    "joy": "positive", "anger": "negative", "disgust": "negative", "fear": "negative",
    "sadness": "negative", "neutral": "neutral", "surprise": None,
}
_add("meld7->sentiment3", _EKMAN_SENTIMENT,
     "Emotion -> polarity; surprise is ambiguous (MELD annotates it both positive and "
     "negative) and is dropped: use MELD's own Sentiment column for exact labels.")
_add("ekman7->sentiment3", _EKMAN_SENTIMENT,
     "Emotion -> polarity; surprise is ambiguous and dropped.")
_add("ravdess8->sentiment3", {
    "neutral": "neutral", "calm": "neutral", "happy": "positive", "surprised": "positive",
    "sad": "negative", "angry": "negative", "fearful": "negative", "disgust": "negative",
}, "RAVDESS emotion -> valence: neutral and calm are neutral, happy and surprised "
   "positive, sad/angry/fearful/disgust negative. The RAVDESS paper (Livingstone & Russo "
   "2018) publishes no sentiment protocol; this is a common convention, and 'surprised' "
   "as positive is a choice (surprise is ambiguous in MELD).")

# --- Acted speech corpora -> sentiment ---------------------------------------------------
_add("cremad6->sentiment3", {
    "anger": "negative", "disgust": "negative", "fear": "negative", "sad": "negative",
    "happy": "positive", "neutral": "neutral",
}, "CREMA-D emotion -> valence: happy positive, neutral neutral, anger/disgust/fear/sad "
   "negative (no ambiguous class).")
_add("tess7->sentiment3", {
    "angry": "negative", "disgust": "negative", "fear": "negative", "sad": "negative",
    "happy": "positive", "pleasant_surprise": "positive", "neutral": "neutral",
}, "TESS emotion -> valence: happy and pleasant surprise (pleasant by definition) positive, "
   "neutral neutral, angry/disgust/fear/sad negative.")
_add("savee7->sentiment3", {
    "anger": "negative", "disgust": "negative", "fear": "negative", "sadness": "negative",
    "happiness": "positive", "neutral": "neutral", "surprise": None,
}, "SAVEE emotion -> valence: happiness positive, neutral neutral, anger/disgust/fear/sadness "
   "negative; surprise is ambiguous and dropped, as for ekman7.")
_add("emodb7->sentiment3", {
    "anger": "negative", "boredom": "negative", "disgust": "negative", "fear": "negative",
    "sadness": "negative", "happiness": "positive", "neutral": "neutral",
}, "EmoDB emotion -> valence: happiness positive, neutral neutral, anger/boredom/disgust/fear/"
   "sadness negative (boredom as negative valence follows the EmoDB valence grouping of "
   "Schuller et al. 2009, 'Acoustic emotion recognition: a benchmark comparison').")

# --- Plutchik -----------------------------------------------------------------------
_add("plutchik32->plutchik8",
     {state: plutchik.state_to_primaries(state) for state in SCHEMES.create("plutchik32").classes},
     "Each intensity level to its primary; each primary dyad to both of its primaries.",
     multi_label=True)
# XED README: "ascending alphabetical order: anger:1 ... trust:8, with neutral:0";
# the released neutral file (neu_en.txt) actually uses 9.
_XED_IDS = {str(i): name for i, name in enumerate(sorted(plutchik.PRIMARIES), 1)}
_add("xed_ids->plutchik8", {**_XED_IDS, "0": None, "9": None},
     "XED numeric ids 1-8 (alphabetical: anger..trust) -> names; neutral (0 or 9) dropped.",
     multi_label=True)
_add("xed_ids->plutchik8_neutral", {**_XED_IDS, "0": "neutral", "9": "neutral"},
     "XED numeric ids 1-8 -> names; neutral (README's 0, neu_en.txt's 9) kept as 'neutral'.",
     multi_label=True)

# GoEmotions -> Plutchik. No published GoEmotions -> Plutchik-8 table was found to follow
# (google-research ships only the Ekman and sentiment groupings), so this one is ours:
# 1. A GoEmotions name that is one of the wheel's 32 states takes its primaries from the wheel
#    (plutchik.py): intensity names -> their primary (admiration = intense trust, annoyance =
#    mild anger, grief = intense sadness), primary dyads -> both primaries (love, optimism,
#    remorse, disapproval).
# 2. Every other name is a judgement call, made on GoEmotions' own definition of the label
#    (Demszky et al. 2020, "GoEmotions: A Dataset of Fine-Grained Emotions", ACL) read against
#    the wheel; Plutchik's secondary/tertiary dyads (pride = anger+joy, curiosity =
#    trust+surprise, shame = fear+disgust) are used only where that definition supports both
#    primaries. Alternatives not taken are noted per row.
_GOEMOTIONS_ON_WHEEL = (
    "admiration", "anger", "annoyance", "disapproval", "disgust", "fear", "grief", "joy", "love",
    "optimism", "remorse", "sadness", "surprise",
)
_GOEMOTIONS_TO_PLUTCHIK: dict[str, Target] = {
    **{name: plutchik.state_to_primaries(name) for name in _GOEMOTIONS_ON_WHEEL},
    # -- judgement calls ------------------------------------------------------------------
    # Plutchik's other name for the surprise+sadness dyad (wheel figure: disapproval; PyPlutchik,
    # Semeraro et al. 2021, PLOS ONE, names it disappointment), and
    # GoEmotions' "sadness ... caused by the nonfulfillment of one's hopes or expectations"
    # is that blend. (Ekman grouping: sadness.)
    "disappointment": plutchik.DYADS["disapproval"],
    # "Finding something funny or being entertained": pleasure -> joy.
    "amusement": ("joy",),
    # "Having or expressing a favorable opinion": acceptance, the mild form of trust; no
    # pleasure is implied (the Ekman grouping says joy).
    "approval": ("trust",),
    # "Displaying kindness and concern for others": affiliative -> trust (EmpatheticDialogues,
    # Rashkin et al. 2019, derived its 'caring' label from Plutchik's trust axis, per its
    # authors in facebookresearch/EmpatheticDialogues#18); not love: joy is not implied.
    "caring": ("trust",),
    # "Lack of understanding, uncertainty": uncertainty / distraction is mild surprise.
    "confusion": ("surprise",),
    # "A strong desire to know or learn something": interest, the mild form of anticipation.
    # Not Plutchik's curiosity dyad (trust+surprise): trust is not in the definition.
    "curiosity": ("anticipation",),
    # "Wanting something or wishing for something to happen": forward-looking -> anticipation;
    # joy would be having it, not wanting it (the Ekman grouping says joy).
    "desire": ("anticipation",),
    # "Self-consciousness, shame, or awkwardness": Plutchik's shame dyad, fear+disgust
    # (non-adjacent primaries; the Ekman grouping says sadness).
    "embarrassment": ("fear", "disgust"),
    # "Great enthusiasm and eagerness": enthusiasm -> joy, eagerness -> anticipation
    # (the same primaries as optimism).
    "excitement": ("anticipation", "joy"),
    # "Thankfulness and appreciation": pleasure at a benefit (joy) plus regard for the giver
    # (trust), the same primaries as love.
    "gratitude": ("joy", "trust"),
    # "Apprehension, worry, anxiety": apprehension is mild fear. Plutchik's anxiety dyad
    # (anticipation+fear) not used: the label is not named anxiety.
    "nervousness": ("fear",),
    # "Pleasure or satisfaction due to one's own achievements": joy. Not Plutchik's pride dyad
    # (anger+joy): nothing in the definition is antagonistic.
    "pride": ("joy",),
    # "Becoming aware of something": a cognitive state, kept as (sudden) surprise, as the
    # Ekman grouping does, rather than dropped.
    "realization": ("surprise",),
    # "Reassurance and relaxation following release from anxiety or distress": serenity,
    # the mild form of joy.
    "relief": ("joy",),
    "neutral": None,
}
_add("goemotions28->plutchik8", _GOEMOTIONS_TO_PLUTCHIK,
   "GoEmotions' 27 emotions -> Plutchik's 8 primaries; multi-label, neutral dropped (a row of "
   "only neutral is dropped). Wheel names follow Plutchik's wheel (1980, 2001): intensity names "
   "(admiration, annoyance, grief) -> their primary, dyads (love, optimism, remorse, "
   "disapproval; disappointment, Plutchik's other name for surprise+sadness) -> both primaries. "
   "The other 13 labels are judgement calls on GoEmotions' label definitions (Demszky et al. "
   "2020), commented row by row in affectlab/labels/mappings.py; no published GoEmotions -> "
   "Plutchik table was found to follow.",
    multi_label=True)

# The same with neutral kept as its own label, for a Plutchik head that also learns "none of
# the eight" (XED's plutchik8_neutral scheme): a row of only neutral becomes ("neutral",).
_add("goemotions28->plutchik8_neutral", {**_GOEMOTIONS_TO_PLUTCHIK, "neutral": "neutral"},
     "goemotions28->plutchik8 with neutral kept as the label 'neutral' (scheme plutchik8_neutral, "
     "as XED with its neutral file).", multi_label=True)

# MELD's emotions are Ekman's six, each also a Plutchik primary of the same name.
_add("meld7->plutchik8", {
    **{name: name for name in ("anger", "disgust", "fear", "joy", "sadness", "surprise")},
    "neutral": None,
}, "MELD's six emotions -> the same-named Plutchik primaries (trust and anticipation never "
   "occur); neutral dropped. Multi-label like the plutchik8 scheme (one primary per row), as "
   "xed_ids->plutchik8.",
    multi_label=True)

# --- Sarcasm ------------------------------------------------------------------------
_add("mustard->sarcasm2", {
    "true": "sarcastic", "false": "not_sarcastic", "1": "sarcastic", "0": "not_sarcastic",
    "sarcastic": "sarcastic", "not_sarcastic": "not_sarcastic",
}, "MUStARD's boolean 'sarcasm' field (True/False, or 'true'/'false', 1/0) -> sarcasm2.")


# --- text labellers -------------------------------------------------------------------
class TextLabeller(Protocol):
    """Mapping-like: labels raw *texts* (not raw labels) into the scheme ``target``."""

    target: str

    def __call__(self, texts: Sequence[str]) -> list[str]: ...


#: Text -> scheme labellers (e.g. ``vader->vader7``), registered by their modules.
LABELLERS: Registry[TextLabeller] = Registry("text labeller")
