"""Every config of README.md's "Your own data" section, run as written on small files the test
writes at the paths the README uses. When the docs and the code disagree, this fails."""
from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Callable

import numpy as np
import pytest
import yaml

from affectlab.experiments.config import config_from_dict
from affectlab.experiments.runner import build_loss_for, prepare_data

README = Path(__file__).resolve().parents[1] / "README.md"
SECTION = "## Your own data"
#: Another section's subsection may follow ours inside the same "##" section; it is not ours.
LATER = ("### Predicting on your own files",)


def _section() -> str:
    text = README.read_text(encoding="utf-8")
    assert SECTION in text, f"README.md has no {SECTION!r} section"
    body = text.split(SECTION, 1)[1]
    body = re.split(r"^## ", body, maxsplit=1, flags=re.M)[0]
    for heading in LATER:
        body = body.split(heading, 1)[0]
    return body


def _examples() -> list[tuple[str, str]]:
    """(config YAML, the command after it) for each yaml block of the section."""
    blocks = re.findall(r"```(\w+)\n(.*?)```", _section(), flags=re.S)
    out = []
    for i, (lang, body) in enumerate(blocks):
        if lang == "yaml":
            following = blocks[i + 1] if i + 1 < len(blocks) else ("", "")
            out.append((body, following[1].strip() if following[0] == "bash" else ""))
    return out


EXAMPLES = _examples()


# --- data for each example, at the paths its config names ----------------------------------------

def _write(path: str, text: str, encoding: str = "utf-8") -> None:
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Path(path).write_text(text, encoding=encoding)


def _jsonl(path: str, rows: list[dict]) -> None:
    _write(path, "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows))


def _split(i: int) -> str:
    return ["train", "train", "train", "val", "test"][i % 5]


def tickets() -> None:
    raw = ["Happy", "pos", " neutral", "ok", "ANGRY", "neg", "furious", "spam"] * 5
    _write("data/tickets.csv", "message,mood\n" + "".join(f"ticket number {i},{m}\n" for i, m in enumerate(raw)))


def check_tickets(data) -> None:
    assert data.scheme.name == "ticket_mood" and data.scheme.classes == ("Happy", "Neutral", "Angry")
    assert data.notes["rows_dropped_by_mapping"] == 5  # spam
    assert np.bincount(data.y).tolist() == [10, 10, 15]
    assert set(data.notes["splits"]) == {"train", "dev", "test"}


def reviews() -> None:
    tags = [["joy"], ["bittersweet"], ["wow", "joy"], ["sadness"], ["none"]] * 3
    _jsonl("data/reviews.jsonl", [{"text": f"review {i}", "tags": t, "split": _split(i + i // 5)}
                                    for i, t in enumerate(tags)])


def check_reviews(data) -> None:
    assert data.scheme.multi_label and data.y.shape == (12, 3)  # the three "none" rows are dropped
    assert data.y[1].tolist() == [1, 1, 0] and data.y[2].tolist() == [1, 0, 1]
    assert data.notes["splits"]["dev"]["rows"] > 0


def my_splits() -> None:
    for name, labels in [("data/train/a.csv", ["joy", "anger"]), ("data/train/b.csv", ["sadness", "joy"]),
                         ("data/val.csv", ["joy", "anger"]), ("data/test_a.csv", ["joy"]),
                         ("data/test_b.csv", ["anger"])]:
        _write(name, "text,label\n" + "".join(f"{name} line {i},{lab}\n" for i, lab in enumerate(labels)))


def check_my_splits(data) -> None:
    assert {s: part["rows"] for s, part in data.notes["splits"].items()} == {"train": 4, "dev": 2, "test": 2}


def sitcom() -> None:
    rows = []
    for i in range(15):
        speakers = ["Ross", "Rachel"] if i % 4 == 0 else ["Joey"] if i % 2 else "Monica"
        rows.append({"season": 1, "episode": 1 + i // 5, "scene": 3, "index": i % 5, "speakers": speakers,
                     "line": f"line {i}", "emotion": ["joy", "neutral", "anger"][i % 3], "split": _split(i // 5 + 2)})
    _jsonl("data/episodes.jsonl", rows)


def check_sitcom(data) -> None:
    table = data.corpus.table
    assert table["dialogue"].tolist()[:6] == ["1/1/3"] * 5 + ["1/2/3"]
    assert table["speaker"][0] == "Rachel + Ross" and table["speakers"][0] == ("Ross", "Rachel")
    assert table["speaker"][1] == "Joey" and table["speaker"][2] == "Monica"
    assert table["turn"].tolist()[:5] == [0, 1, 2, 3, 4]


def excel_export() -> None:
    rows = ["Sentence\tEmotion\tSet"] + [f"Sch\u00f6ne Gr\u00fc\u00dfe {i} \u2764\t{e}\t{s}" for i, (e, s) in
                                         enumerate(zip(["joy", "anger"] * 3, ["Train", "Train", "Validation",
                                                                              "Validation", "Test", "Test"]))]
    _write("data/export.txt", "\r\n".join(rows) + "\r\n", encoding="utf-16")  # BOM + UTF-16-LE, as Excel


def check_excel_export(data) -> None:
    assert data.corpus.table["text"][0] == "Sch\u00f6ne Gr\u00fc\u00dfe 0 \u2764"
    assert {s: part["rows"] for s, part in data.notes["splits"].items()} == {"train": 2, "dev": 2, "test": 2}


WRITERS: dict[str, tuple[Callable[[], None], Callable]] = {
    "tickets": (tickets, check_tickets), "reviews": (reviews, check_reviews),
    "my_splits": (my_splits, check_my_splits), "sitcom": (sitcom, check_sitcom),
    "excel_export": (excel_export, check_excel_export),
}


def test_the_section_covers_every_case_and_each_config_has_its_command():
    names = [yaml.safe_load(body)["name"] for body, _ in EXAMPLES]
    assert sorted(names) == sorted(WRITERS), "a README example without test data (or the reverse)"
    for body, command in EXAMPLES:
        assert command == "affectlab run my.yaml", body
    text = _section()
    for key in ("classes:", "map:", "aliases:", "paths:", "val:", "dialogue: [", "speaker_sep",
                "data.options.encoding"):
        assert key in text, key


@pytest.mark.parametrize("body", [b for b, _ in EXAMPLES], ids=[yaml.safe_load(b)["name"] for b, _ in EXAMPLES])
def test_readme_config_runs_as_written(body, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    raw = yaml.safe_load(body)
    write, check = WRITERS[raw["name"]]
    write()
    Path("my.yaml").write_text(body, encoding="utf-8")
    from affectlab.experiments.config import load_config

    config = load_config("my.yaml")
    assert config == config_from_dict(raw)
    config.training.progress = False
    data = prepare_data(config)
    check(data)
    build_loss_for(config, data.y[data.corpus.table["split"].to_numpy() == "train"], data.scheme)  # e.g. bce for multi-label
