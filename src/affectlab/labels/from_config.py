"""The label scheme and raw-label mapping an experiment config's ``labels`` section describes.

A config either names a registered scheme (``scheme: meld7``, optionally with a registered
``mapping``) or declares its own label set in YAML::

    labels:
      scheme: support3                 # the new scheme's name (not looked up when classes are given)
      classes: [Positive, Neutral, Negative]
      map: {pos: Positive, "+": Positive, mixed: null}   # raw -> class, [classes] or null (drop)
      aliases: {good: Positive}        # other spellings of a class, kept with the scheme

``map`` and ``aliases`` also work on a registered scheme. Raw labels match classes, aliases
and map keys ignoring case and surrounding spaces; the scheme keeps its own spelling. Raw
labels that already are class names (or aliases) need no ``map`` entry. ``multi_label``
defaults to the registered scheme's setting, and for a declared scheme to true exactly when a
``map`` value is a list. The section is read by attribute (``scheme``, ``classes``,
``multi_label``, ``map``, ``aliases``, ``mapping``) so this module needs no experiments import.
"""
from __future__ import annotations

import dataclasses
from typing import Any, Mapping

from ..errors import ConfigError
from .catalog import SCHEMES
from .mappings import MAPPINGS, LabelMapping, Target
from .scheme import LabelScheme

#: The name a ``labels.map`` table carries in errors and results.
MAP_NAME = "labels.map"


def scheme_and_mapping(labels: Any) -> tuple[LabelScheme, LabelMapping | None]:
    """The scheme to encode with and the mapping to apply first (``None``: raw labels are
    encoded as they are). Every inconsistency is one ``ConfigError`` naming the YAML key."""
    scheme = scheme_for(labels)
    return scheme, mapping_for(labels, scheme)


def scheme_for(labels: Any) -> LabelScheme:
    """``labels.classes`` declares a new scheme named ``labels.scheme``; without it the name is
    looked up in the catalog (unknown names raise ``ConfigError`` listing the known ones)."""
    name = str(labels.scheme)
    classes = _get(labels, "classes")
    multi = _get(labels, "multi_label")
    table = _get(labels, "map") or {}
    mapping = _get(labels, "mapping")
    if classes is not None:
        if mapping:
            raise ConfigError(
                f"labels.mapping {mapping!r} maps into a registered scheme; with labels.classes "
                "write the raw -> class table as labels.map instead")
        classes = tuple(str(c).strip() for c in classes)
        if not classes or any(not c for c in classes):
            raise ConfigError(f"labels.classes must be a non-empty list of class names, got {list(classes)}")
        folded: dict[str, str] = {}
        for cls in classes:
            if cls.lower() in folded:
                raise ConfigError(f"labels.classes lists {folded[cls.lower()]!r} and {cls!r}: class "
                                  "names must differ in more than case")
            folded[cls.lower()] = cls
        fans_out = any(isinstance(v, (list, tuple)) and len(v) > 1 for v in table.values())
        scheme = LabelScheme(name, classes, bool(fans_out if multi is None else multi),
                             "declared in the config (labels.classes)")
    else:
        if name not in SCHEMES:
            raise ConfigError(
                f"unknown label scheme {name!r}; known: {', '.join(SCHEMES.names())}. To use "
                "your own label set, list it in the config as labels.classes: [...]")
        scheme = SCHEMES.create(name)
        if multi is not None and not mapping and bool(multi) != scheme.multi_label:
            scheme = dataclasses.replace(scheme, multi_label=bool(multi))
    aliases = _get(labels, "aliases") or {}
    if aliases:
        scheme = dataclasses.replace(scheme, aliases={**scheme.aliases, **_aliases(aliases, scheme)})
    return scheme


def mapping_for(labels: Any, scheme: LabelScheme) -> LabelMapping | None:
    """A registered ``labels.mapping``, or the ``labels.map`` table into ``scheme``, or None."""
    mapping = _get(labels, "mapping")
    table = _get(labels, "map")
    if mapping and table:
        raise ConfigError("labels.mapping and labels.map are two ways to map raw labels: give one")
    if mapping:
        found = MAPPINGS.create(mapping)
        multi = _get(labels, "multi_label")
        if multi is not None and bool(multi) != found.multi_label:
            raise ConfigError(
                f"labels.multi_label: {str(bool(multi)).lower()} contradicts mapping {mapping!r}, "
                f"which is {'multi' if found.multi_label else 'single'}-label; drop labels.multi_label")
        return found
    if not table:
        return None
    return LabelMapping(
        MAP_NAME, "raw", scheme.name, _table(table, scheme),
        "raw -> class table from the config", scheme.multi_label, scheme=scheme,
        hint="add each to labels.map (raw: class, a list of classes, or null to drop those rows)")


def _get(labels: Any, key: str) -> Any:
    return getattr(labels, key, None) if not isinstance(labels, Mapping) else labels.get(key)


def _class_of(value: Any, scheme: LabelScheme, where: str) -> str:
    cls = scheme.lookup().get(str(value).strip().lower())
    if cls is None:
        raise ConfigError(f"{where}: {value!r} is not a class of scheme {scheme.name!r} "
                          f"({', '.join(scheme.classes)})")
    return cls


def _aliases(aliases: Mapping[Any, Any], scheme: LabelScheme) -> dict[str, str]:
    bare = dataclasses.replace(scheme, aliases={})  # an alias names a class, not another alias
    return {str(k).strip().lower(): _class_of(v, bare, f"labels.aliases[{k!r}]") for k, v in aliases.items()}


def _table(raw: Mapping[Any, Any], scheme: LabelScheme) -> dict[str, Target]:
    """Class names and aliases map to themselves; ``raw`` entries are added (and win)."""
    table: dict[str, Target] = dict(scheme.lookup())
    seen: dict[str, Any] = {}
    for key, value in raw.items():
        folded = str(key).strip().lower()
        if folded in seen:
            raise ConfigError(f"labels.map has {seen[folded]!r} and {key!r}: raw labels are matched "
                              "ignoring case, so give one entry")
        seen[folded] = key
        where = f"labels.map[{key!r}]"
        if value is None:
            table[folded] = None
        elif isinstance(value, (list, tuple)):
            if len(value) > 1 and not scheme.multi_label:
                raise ConfigError(f"{where} maps to several classes {list(value)} but the scheme is "
                                  "single-label; set labels.multi_label: true or map to one class")
            targets = tuple(dict.fromkeys(_class_of(v, scheme, where) for v in value))
            table[folded] = targets or None
        else:
            table[folded] = _class_of(value, scheme, where)
    return table
