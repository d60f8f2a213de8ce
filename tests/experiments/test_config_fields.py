"""A config field added after run ids existed must be in ``ADDED_FIELDS``, or old runs get new ids.

``config_fields.json`` is the committed snapshot: the field paths of the first release (when run
ids were defined) and the fields of each whole section listed in ``ADDED_FIELDS``. Every current
field path must be one of those, an ``ADDED_FIELDS`` entry itself, or a machine field.
"""
from __future__ import annotations

import json
import types
import typing
from pathlib import Path

from pydantic import BaseModel

from affectlab.experiments.config import ADDED_FIELDS, MACHINE_FIELDS, ExperimentConfig, config_identity

SNAPSHOT = json.loads((Path(__file__).with_name("config_fields.json")).read_text(encoding="utf-8"))


def _model(annotation) -> type[BaseModel] | None:
    """The pydantic model behind ``Model`` or ``Model | None``; None for plain values and dicts."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    args = [a for a in typing.get_args(annotation) if a is not type(None)]
    if typing.get_origin(annotation) in (typing.Union, types.UnionType) and len(args) == 1:
        return _model(args[0])
    return None


def field_paths(model: type[BaseModel] = ExperimentConfig, prefix: str = "") -> list[str]:
    """Dotted paths of every leaf field (nested models are walked; dicts are leaves)."""
    out = []
    for name, field in model.model_fields.items():
        sub = _model(field.annotation)
        out += field_paths(sub, f"{prefix}{name}.") if sub else [prefix + name]
    return out


def _dotted(paths) -> set[str]:
    return {".".join(p) for p in paths}


def _covered(path: str, sections: dict[str, list[str]]) -> bool:
    if path in SNAPSHOT["first_release"]["fields"] or path in _dotted(ADDED_FIELDS) | _dotted(MACHINE_FIELDS):
        return True
    return any(path in fields for fields in sections.values())


def test_every_new_config_field_is_in_added_fields():
    sections = SNAPSHOT["added_sections"]
    missing = [p for p in field_paths() if not _covered(p, sections)]
    assert not missing, (
        f"config field(s) {missing} are not in ADDED_FIELDS (experiments/config.py): add them there, "
        "or every existing run id changes")


def test_every_added_section_has_its_fields_recorded():
    """A section listed whole must record its fields, so a field added inside it later is caught."""
    current = field_paths()
    unrecorded = {}
    for entry in sorted(_dotted(ADDED_FIELDS)):
        inside = [p for p in current if p.startswith(entry + ".")]
        if inside and entry not in SNAPSHOT["added_sections"]:
            unrecorded[entry] = inside
    assert not unrecorded, ("record these sections in tests/experiments/config_fields.json under "
                            f"'added_sections': {json.dumps(unrecorded)}")


def test_added_and_machine_fields_name_real_fields():
    current = field_paths()
    for path in _dotted(ADDED_FIELDS) | _dotted(MACHINE_FIELDS):
        assert any(p == path or p.startswith(path + ".") for p in current), f"{path!r} is not a config field"


def test_added_fields_at_their_defaults_leave_the_identity():
    """A minimal config's identity holds no added field: exactly what it held at first release."""
    config = ExperimentConfig.model_validate({"data": {"corpus": "meld"}, "labels": {"scheme": "meld7"}})
    identity = config_identity(config)

    def paths(data: dict, prefix: str = "") -> set[str]:
        out = set()
        for key, value in data.items():
            out |= paths(value, f"{prefix}{key}.") if isinstance(value, dict) and value else {prefix + key}
        return out

    kept = paths(identity)
    assert not kept & _dotted(ADDED_FIELDS)
    assert not {p for p in kept if any(p.startswith(a + ".") for a in _dotted(ADDED_FIELDS))}
    assert kept <= set(SNAPSHOT["first_release"]["fields"])
