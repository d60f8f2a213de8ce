"""The CLI as a user meets it: real processes, the shipped pipeline, clear errors."""
import json
import os
import shutil
import subprocess
import sys

import pytest

from affectlab.cli import main
from affectlab.pipeline import Pipeline

ENV = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}


def _cli(*args, stdin=None, network=True):
    command = [sys.executable, "-m", "affectlab.cli", *args]
    if not network:
        command = ["unshare", "-rn", *command]
    return subprocess.run(command, input=stdin, capture_output=True, text=True, env=ENV, timeout=300)


@pytest.mark.integration
def test_predict_json_offline_without_network():
    if shutil.which("unshare") is None or subprocess.run(["unshare", "-rn", "true"]).returncode != 0:
        pytest.skip("cannot make a network-less namespace here (unshare -rn)")
    proc = _cli("predict", "I can't believe you did this!", "--json", network=False)
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    classes = Pipeline.default().scheme.classes
    assert result["label"] in classes
    assert set(result["probabilities"]) == set(classes)
    assert abs(sum(result["probabilities"].values()) - 1) < 1e-3


@pytest.mark.integration
def test_predict_file_and_stdin(tmp_path):
    src = tmp_path / "in.csv"
    src.write_text('text,id\n"I love you so much!",1\n"Get out of my house!",2\n', encoding="utf-8")
    out = tmp_path / "out.csv"
    proc = _cli("predict", "--file", str(src), "--format", "csv", "-o", str(out))
    assert proc.returncode == 0, proc.stderr
    lines = out.read_text().splitlines()
    assert lines[0].startswith("text,label,") and len(lines) == 3
    proc = _cli("predict", "--format", "jsonl", stdin="What a lovely day\nI hate this\n")
    rows = [json.loads(l) for l in proc.stdout.splitlines()]
    assert len(rows) == 2 and all("probabilities" in r for r in rows)


@pytest.mark.integration
def test_default_pipeline_gets_obvious_cases_right():
    pipe = Pipeline.default()
    labels = [p.label for p in pipe.predict(["I am so happy, this is the best day of my life!",
                                             "I'm furious, how dare you lie to me!"])]
    assert labels == ["joy", "anger"]


@pytest.mark.integration
def test_predict_audio_with_the_shipped_speech_pipeline_offline(tmp_path):
    """The default speech pipeline (Whisper tiny.en from PyPI, converted on first use) with no
    network; a corrupt file is one line naming it."""
    import numpy as np
    import soundfile as sf

    if shutil.which("unshare") is None or subprocess.run(["unshare", "-rn", "true"]).returncode != 0:
        pytest.skip("cannot make a network-less namespace here (unshare -rn)")
    rng = np.random.default_rng(0)
    t = np.arange(24_000) / 16_000
    clip = tmp_path / "clip.wav"  # a harmonic "voice" with vibrato and noise, 1.5 s at 16 kHz
    wave = sum(0.2 / k * np.sin(2 * np.pi * k * (180 * t + 3 * np.sin(2 * np.pi * 5 * t))) for k in range(1, 6))
    sf.write(clip, (wave + 0.01 * rng.standard_normal(t.size)).astype(np.float32), 16_000)
    proc = _cli("predict", "--audio", str(clip), "--json", network=False)
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    classes = Pipeline.default("audio").scheme.classes
    assert len(classes) == 8 and result["label"] in classes and result["text"] == str(clip)
    assert abs(sum(result["probabilities"].values()) - 1) < 1e-3

    corrupt = tmp_path / "broken.wav"
    corrupt.write_bytes(b"RIFF\x10\x00\x00\x00WAVEjunkjunk")
    proc = _cli("predict", "--audio", str(corrupt), network=False)
    assert proc.returncode == 2 and "broken.wav" in proc.stderr and "Traceback" not in proc.stderr


def test_errors_are_one_line_with_nonzero_exit(tmp_path, capsys):
    assert main(["predict", "--file", str(tmp_path / "missing.txt")]) == 2
    err = capsys.readouterr().err
    assert "missing.txt" in err and "Traceback" not in err
    assert main(["run", str(tmp_path / "nope.yaml")]) == 2
    empty = tmp_path / "empty.jsonl"
    empty.write_text('{"text": "ok"}\n{"text": "  "}\n')
    assert main(["predict", "--file", str(empty)]) == 2
    assert "empty text in row(s) [2]" in capsys.readouterr().err


def test_datasets_lists_every_loader(tmp_path, capsys):
    assert main(["datasets", "--data-root", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    for name in ("meld", "xed", "goemotions", "mustard", "iemocap"):
        assert name in out


def test_labels_lists_schemes_and_shows_one(capsys):
    assert main(["labels"]) == 0
    assert "plutchik32" in capsys.readouterr().out
    assert main(["labels", "meld7"]) == 0
    assert "surprise" in capsys.readouterr().out
