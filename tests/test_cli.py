"""The CLI as a user meets it: real processes, the shipped pipeline, clear errors."""
import csv
import io
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from affectlab.cli import main
from affectlab.errors import AffectLabError
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
    classes = Pipeline.default().scheme.classes  # the engine: Plutchik's 8 primaries + neutral
    assert set(result["label"]) <= set(classes) and set(result["probabilities"]) == set(classes)
    assert all(0 <= p <= 1 for p in result["probabilities"].values())  # multi-label: one sigmoid each
    assert {"goemotions", "meld", "sentiment", "sarcasm", "vad", "intensity", "dissonance"} <= set(result["tasks"])
    assert set(result["tasks"]["vad"]["values"]) == {"valence", "arousal", "dominance"}
    assert 0 <= result["tasks"]["intensity"]["values"]["arousal"] <= 1
    assert result["extras"]["wheel"]["state"]  # one of the 32 named states, or neutral


@pytest.mark.integration
def test_predict_file_and_stdin(tmp_path):
    src = tmp_path / "in.csv"
    src.write_text('text,id\n"I love you so much!",1\n"Get out of my house!",2\n', encoding="utf-8")
    out = tmp_path / "out.csv"
    proc = _cli("predict", "--file", str(src), "--format", "csv", "-o", str(out))
    assert proc.returncode == 0, proc.stderr
    lines = out.read_text().splitlines()
    assert lines[0].startswith("id,text,label,") and len(lines) == 3  # the id column is kept
    assert lines[1].startswith('1,I love you so much!,')
    proc = _cli("predict", "--format", "jsonl", stdin="What a lovely day\nI hate this\n")
    rows = [json.loads(l) for l in proc.stdout.splitlines()]
    assert len(rows) == 2 and all("probabilities" in r for r in rows)


@pytest.mark.integration
def test_default_pipeline_gets_obvious_cases_right():
    texts = ["I am so happy, this is the best day of my life!", "I'm furious, how dare you lie to me!"]
    engine = Pipeline.default().predict(texts)
    assert [max(p.probabilities, key=p.probabilities.get) for p in engine] == ["joy", "anger"]
    assert [p.tasks["meld"]["label"] for p in engine] == ["joy", "anger"]
    assert [p.label for p in Pipeline.shipped("text-meld7").predict(texts)] == ["joy", "anger"]


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
    assert len(classes) == 8 and result["label"] in classes and result["audio"] == str(clip)
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


# ---- predicting on a user's own files ------------------------------------------------------
ROWS = "id;text;label\nr1;I love you so much, this is wonderful!;joy\nr2;Get out of my house, I hate you!;anger\n"


@pytest.mark.integration
def test_text_label_file_keeps_its_id_in_every_format(tmp_path, capsys):
    """The user's `text;label` file: the label is not glued onto the text, the id comes back."""
    src = tmp_path / "texts.txt"
    src.write_text(ROWS, encoding="utf-8")
    base = ["predict", "--file", str(src), "--sep", ";", "--column", "text", "--id-column", "id",
            "--pipeline", "text-meld7"]  # one single-label task: the exact columns below
    assert main([*base, "--format", "jsonl"]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [r["id"] for r in rows] == ["r1", "r2"] and "label" not in rows[0]["text"]
    assert rows[0]["text"] == "I love you so much, this is wonderful!" and rows[0]["label"] == "joy"
    assert set(rows[0]) == {"id", "text", "label", "probabilities"}
    assert main([*base, "--json"]) == 0
    assert [r["id"] for r in json.loads(capsys.readouterr().out)] == ["r1", "r2"]
    assert main([*base, "--format", "csv"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("id,text,label,anger,") and lines[1].startswith('r1,"I love you so much, this is wonderful!",joy,')
    assert main([*base, "--format", "table"]) == 0
    assert "r1" in capsys.readouterr().out
    # without --id-column every other column is kept; the gold label is renamed, not overwritten
    assert main(["predict", "--file", str(src), "--sep", ";", "--format", "jsonl", "--pipeline", "text-meld7"]) == 0
    row = json.loads(capsys.readouterr().out.splitlines()[1])
    assert row["id"] == "r2" and row["input_label"] == "anger" and row["label"] in Pipeline.shipped("text-meld7").scheme.classes
    # the engine (default): every task and the wheel state travel as JSON cells, as in `affectlab score`
    assert main(["predict", "--file", str(src), "--sep", ";", "--column", "text", "--id-column", "id", "--format", "csv"]) == 0
    table = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert [r["id"] for r in table] == ["r1", "r2"] and {"joy", "trust", "neutral", "extras", "tasks"} <= set(table[0])
    assert json.loads(table[0]["extras"])["wheel"]["state"] and "sarcasm" in json.loads(table[0]["tasks"])


@pytest.mark.integration
def test_predict_txt_that_looks_delimited_warns_in_a_real_process(tmp_path):
    src = tmp_path / "texts.txt"
    src.write_text("I love you;joy\nGet out!;anger\nOh no;sadness\n", encoding="utf-8")
    proc = _cli("predict", "--file", str(src), "--format", "jsonl")
    assert proc.returncode == 0, proc.stderr
    warnings = [line for line in proc.stderr.splitlines() if "warning" in line]
    assert len(warnings) == 1 and "--sep ';'" in warnings[0]
    assert [json.loads(line)["line"] for line in proc.stdout.splitlines()] == [1, 2, 3]


@pytest.mark.integration
def test_headerless_delimited_file(tmp_path, capsys):
    src = tmp_path / "texts.txt"
    src.write_text("I love you;joy\nGet out!;anger\n", encoding="utf-8")
    assert main(["predict", "--file", str(src), "--sep", ";", "--no-header", "--format", "csv"]) == 0
    captured = capsys.readouterr()
    lines = captured.out.splitlines()
    assert "warning" not in captured.err and lines[0].startswith("2,text,label,")
    assert lines[1].startswith("joy,I love you,")


def test_input_mistakes_fail_before_the_model_loads(tmp_path, capsys):
    src = tmp_path / "t.csv"
    src.write_text("id,text\n1,hi\n", encoding="utf-8")
    for argv, expected in (
        (["--file", str(src), "--id-column", "nope"], "no id column 'nope'"),
        (["--file", str(src), "--sep", ";;"], "--sep must be one character"),
        (["--file", str(src), "-o", str(tmp_path / "out.txt")], "give --format"),
        (["--audio", str(tmp_path / "nothing" / "*.wav")], "no audio files match"),
        (["--audio", str(tmp_path)], "no audio files"),
    ):
        assert main(["predict", *argv]) == 2
        err = capsys.readouterr().err
        assert expected in err and "Traceback" not in err and len(err.strip().splitlines()) == 1
    import affectlab.cli as cli

    assert "torch" not in dir(cli)


def test_progress_lines_when_stderr_is_not_a_terminal(tmp_path, capsys, monkeypatch):
    """Redirected runs print `predicted N/M texts (R/s)` lines; a tiny fake pipeline keeps it fast."""
    import affectlab.cli as cli

    monkeypatch.setattr(cli, "TEXT_CHUNK", 2)
    monkeypatch.setenv("AFFECTLAB_PROGRESS_SECONDS", "0")

    class Fake:
        modality = "text"

        def predict(self, texts):
            return [type("P", (), {"label": "joy", "probabilities": {"joy": 1.0}})() for _ in texts]

    from affectlab.io_inputs import Inputs

    predictions, skipped = cli._predict(Fake(), Inputs([f"t{i}" for i in range(5)]), audio=False, on_error="raise")
    err = capsys.readouterr().err.splitlines()
    assert len(predictions) == 5 and not skipped
    assert err[:2] == [line for line in err[:2] if line.startswith("predicted ")]
    assert err[0].startswith("predicted 2/5 texts (") and err[-1].startswith("predicted 5/5 texts in ")
    # a terminal gets a bar (rich), not lines
    monkeypatch.setattr(cli.sys.stderr, "isatty", lambda: True, raising=False)
    progress = cli._Progress(5, "texts", enabled=True)
    assert progress.bar is not None
    progress.advance(5)
    progress.close()


def test_audio_failures_are_skipped_and_counted(tmp_path, capsys):
    """--on-error skip: a bad file is dropped and named with its reason; raise stops the batch."""
    import affectlab.cli as cli
    from affectlab.errors import DataFormatError
    from affectlab.io_inputs import Inputs

    class ReadError(DataFormatError):
        def __init__(self, path, reason):
            self.path, self.reason = path, reason
            super().__init__(f"audio file {path}: {reason}")

    class Fake:
        def predict(self, paths):
            for p in paths:
                if "bad" in p:
                    raise ReadError(p, "unreadable (no data chunk)")
            return [type("P", (), {"label": "calm", "probabilities": {"calm": 1.0}})() for _ in paths]

    files = []
    for name in ("a.wav", "bad1.wav", "b.wav", "bad2.wav"):
        (tmp_path / name).write_bytes(b"x")
        files.append(str(tmp_path / name))
    files.append(str(tmp_path / "gone.wav"))
    inputs = Inputs(files, many=True)
    predictions, skipped = cli._predict(Fake(), inputs, audio=True, on_error="skip")
    assert [p is not None for p in predictions] == [True, False, True, False, False]
    assert sorted(Path(p).name for p, _ in skipped) == ["bad1.wav", "bad2.wav", "gone.wav"]
    cli._report_skipped(skipped, len(files))
    err = capsys.readouterr().err
    assert "skipped 3 of 5 audio files" in err and "unreadable (no data chunk)" in err
    with pytest.raises(AffectLabError, match="not found"):
        cli._predict(Fake(), inputs, audio=True, on_error="raise")
    with pytest.raises(ReadError):
        cli._predict(Fake(), Inputs(files[:2], many=True), audio=True, on_error="raise")
    rows = cli._rows(inputs, predictions, "audio", ["calm"])
    assert [r["audio"] for r in rows] == [files[0], files[2]] and "text" not in rows[0]


@pytest.mark.integration
def test_predict_audio_folder_and_glob_with_the_shipped_speech_pipeline(tmp_path, capsys, monkeypatch):
    from tests.corpora._wavs import write_wav

    monkeypatch.chdir(tmp_path)
    write_wav(tmp_path / "clips" / "b.wav", seconds=0.5, freq=220)
    write_wav(tmp_path / "clips" / "sub" / "a.wav", seconds=0.5, freq=330)
    (tmp_path / "clips" / "sub" / "broken.wav").write_bytes(b"RIFF\x10\x00\x00\x00WAVEjunkjunk")
    assert main(["predict", "--audio", "clips", "--format", "jsonl"]) == 2  # raise: the broken file stops it
    assert "broken.wav" in capsys.readouterr().err
    assert main(["predict", "--audio", "clips/**/*.wav", "--on-error", "skip", "--format", "jsonl"]) == 0
    captured = capsys.readouterr()
    rows = [json.loads(line) for line in captured.out.splitlines()]
    assert [r["audio"] for r in rows] == ["clips/b.wav", "clips/sub/a.wav"] and "text" not in rows[0]
    assert "skipped 1 of 3 audio files" in captured.err and "clips/sub/broken.wav" in captured.err


def test_run_prints_dev_and_test_metrics_side_by_side(tmp_path, capsys, monkeypatch):
    import affectlab.cli as cli
    import affectlab.experiments as experiments
    import affectlab.experiments.cv as cv

    config = type("C", (), {"name": "demo", "seed": 0})()
    results = {"dev": {"accuracy": 0.5, "macro_f1": 0.4, "weighted_f1": 0.45},
               "test": {"accuracy": 0.6, "macro_f1": 0.3, "weighted_f1": 0.55, "uar": 0.35}}
    monkeypatch.setattr(experiments, "load_config", lambda path: config)
    monkeypatch.setattr(cv, "is_cross_validation", lambda c: False)
    monkeypatch.setattr(experiments, "run_experiment", lambda c, **kw: type(
        "R", (), {"results": results, "skipped": False, "run_dir": tmp_path})())
    assert main(["run", "demo.yaml"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["metric", "dev", "test"]
    assert lines[1].split() == ["accuracy", "0.5000", "0.6000"]
    assert lines[-1].split() == ["uar", "-", "0.3500"]  # a metric only one split has
    assert cli.metrics_table({"test": {"accuracy": 1.0}}).splitlines()[1].split() == ["accuracy", "-", "1.0000"]
    tasks = cli.metrics_table({"test": {"accuracy": 1.0}, "tasks": {
        "sentiment": {"dev": {"weighted_f1": 0.7}, "test": {"weighted_f1": 0.71}},
        "vad": {"dev": {"mean_pearson_r": 0.4}, "test": {"mean_pearson_r": 0.41, "mean_mae": 0.2}}}}).splitlines()
    assert tasks[3:5] == ["task sentiment     dev    test", "weighted_f1     0.7000  0.7100"]
    assert tasks[-2].split() == ["mean_pearson_r", "0.4000", "0.4100"] and tasks[-1].split() == ["mean_mae", "-", "0.2000"]


# ---- cold start ----------------------------------------------------------------------------
HEAVY = ("torch", "transformers", "pandas", "sklearn", "scipy", "matplotlib", "mlflow", "ray", "numpy")


def test_import_affectlab_and_help_stay_light():
    code = ("import sys, time; t = time.perf_counter(); import affectlab, affectlab.cli, affectlab.io_inputs\n"
            "from affectlab.cli import build_parser\n"
            "try:\n    build_parser().parse_args(['predict', '--help'])\nexcept SystemExit:\n    pass\n"
            f"print([m for m in {HEAVY!r} if m in sys.modules])")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=ENV, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip().splitlines()[-1] == "[]"
    import time

    start = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "affectlab.cli", "--help"], capture_output=True, text=True,
                          env=ENV, timeout=60)
    seconds = time.perf_counter() - start
    assert proc.returncode == 0 and "predict" in proc.stdout
    assert seconds < 3.0, f"affectlab --help took {seconds:.1f} s"  # ~0.2 s on an idle core


def test_a_cold_prediction_imports_no_training_machinery():
    """The default text pipeline predicts without transformers, scikit-learn (the trainer's
    metrics) or torch._dynamo (which torch imports for random init of meta tensors): each of
    them costs seconds before the first prediction."""
    code = ("import sys\nfrom affectlab.pipeline import Pipeline\nPipeline.default().predict('Hello there.')\n"
            "print([m for m in ('transformers', 'sklearn', 'torch._dynamo', 'peft') if m in sys.modules])")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=ENV, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip().splitlines()[-1] == "[]"


# ---- the README's "Predicting on your own files" commands, run as written --------------------
def _readme_commands() -> list[str]:
    from pathlib import Path

    text = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    section = text.split("### Predicting on your own files", 1)[1].split("\n#", 1)[0]
    block = section.split("```bash", 1)[1].split("```", 1)[0]
    return [line.strip() for line in block.splitlines() if line.strip().startswith("affectlab ")]


@pytest.mark.integration
def test_readme_predicting_on_your_own_files_runs_as_written(tmp_path, capsys, monkeypatch):
    import shlex

    from tests.corpora._wavs import write_wav

    commands = _readme_commands()
    assert len(commands) == 4 and any("--on-error skip" in c for c in commands)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "texts.txt").write_text(ROWS, encoding="utf-8")
    (tmp_path / "texts.csv").write_text('id,text\n1,"What a lovely day!"\n2,I am so scared\n', encoding="utf-8")
    write_wav(tmp_path / "clips" / "one.wav", seconds=0.3, freq=200)
    write_wav(tmp_path / "recordings" / "two.wav", seconds=0.3, freq=300)
    (tmp_path / "recordings" / "broken.wav").write_bytes(b"RIFF\x10\x00\x00\x00WAVEjunkjunk")
    for command in commands:
        argv = shlex.split(command)
        assert argv[0] == "affectlab"
        assert main(argv[1:]) == 0, (command, capsys.readouterr().err)
        captured = capsys.readouterr()
        assert "Traceback" not in captured.err
    assert (tmp_path / "predictions.csv").read_text().startswith("id,text,label,")
    assert (tmp_path / "clips.csv").read_text().splitlines()[1].startswith("clips/one.wav,")
    assert "recordings/broken.wav" in captured.err  # the last command: the glob, skipping the broken file


# ---- conversations -------------------------------------------------------------------------
def test_predict_conversation_feeds_each_turn_its_context_speakers_and_tags(tmp_path, tiny_encoder_dir, capsys):
    import numpy as np
    import pandas as pd

    from affectlab.experiments.config import config_from_dict
    from affectlab.experiments.runner import run_experiment
    from tests.experiments.toy import toy_config, write_toy_csv

    csv_path = write_toy_csv(tmp_path)
    table = pd.read_csv(csv_path, dtype=str, keep_default_na=False)
    table["scenario"] = ["work" if i % 2 else "home" for i in range(len(table))]
    table.to_csv(csv_path, index=False)
    data = toy_config(csv_path, tiny_encoder_dir, tmp_path / "cache", features={"max_length": 48, "context": 2,
                                                                                 "tags": ["scenario"]},
                      model={"encoder": {"path": str(tiny_encoder_dir), "finetune": "full"}, "dropout": 0.1},
                      training={"epochs": 1, "batch_size": 8, "lr": 1e-3, "encoder_lr": 1e-4})
    pipeline_dir = run_experiment(config_from_dict(data), out_dir=tmp_path / "runs").run_dir / "pipeline"
    turns = [{"conversation": "a", "speaker": "Ross", "text": "We were on a break!", "scenario": "home"},
             {"conversation": "b", "speaker": "Joey", "text": "How you doin'?", "scenario": "work"},
             {"conversation": "a", "speaker": "Rachel", "text": "Oh, here we go again.", "scenario": "home"}]
    path = tmp_path / "talk.jsonl"
    path.write_text("\n".join(json.dumps(t) for t in turns) + "\n")
    assert main(["predict", "--pipeline", str(pipeline_dir), "--conversation", str(path), "--format", "jsonl"]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [r["text"] for r in rows] == [t["text"] for t in turns] and rows[2]["speaker"] == "Rachel"
    pipeline = Pipeline.load(pipeline_dir)
    expected = pipeline.predict_outputs(["We were on a break!", "Oh, here we go again."], conversation=True,
                                        speakers=["Ross", "Rachel"], tags={"scenario": ["home", "home"]})["label"]
    got = np.array([[rows[i]["probabilities"][c] for c in pipeline.scheme.classes] for i in (0, 2)])
    np.testing.assert_allclose(got, expected, atol=1e-5)  # turn 3 read turn 1 as its context, not turn 2
    assert main(["predict", "hello", "--conversation", str(path)]) == 2
    assert "not both" in capsys.readouterr().err


@pytest.mark.integration
def test_predict_conversation_prints_the_next_turn_forecast_per_conversation(tmp_path, capsys):
    """The shipped MELD-7 pipeline keeps a neural-ODE forecaster: each conversation ends with
    its next turn's most likely emotions."""
    path = tmp_path / "turns.jsonl"
    turns = [{"conversation": "a", "speaker": "Ann", "text": "I got the job!"},
             {"conversation": "b", "speaker": "Bo", "text": "My flight was cancelled."},
             {"conversation": "a", "speaker": "Cy", "text": "No way, that's amazing!"}]
    path.write_text("\n".join(json.dumps(t) for t in turns) + "\n")
    assert main(["predict", "--conversation", str(path), "--top", "2"]) == 0
    out = capsys.readouterr().out
    lines = [line for line in out.splitlines() if line.startswith("next turn")]
    assert [line.split(" (")[0] for line in lines] == ["next turn of a", "next turn of b"]
    assert all("(forecast, ode):" in line and line.count(",") == 2 for line in lines)


def test_the_wheel_line_names_a_dyads_primaries_and_a_single_primarys_band():
    from affectlab.cli import _wheel_summary

    dyad = {"state": "love", "primaries": ["trust", "joy"], "dyad": "love", "band": "intense", "conflicts": []}
    assert _wheel_summary(dyad) == "[bold]love[/bold] (dyad of trust + joy; intense)"
    single = {"state": "serenity", "primaries": ["joy"], "dyad": None, "band": "mild",
              "conflicts": [["joy", "sadness"]]}
    assert _wheel_summary(single) == ("[bold]serenity[/bold] (mild)   primaries: joy   "
                                      "[red]conflict: joy vs sadness[/red]")
    assert _wheel_summary({"state": "neutral", "primaries": [], "dyad": None, "band": None}) == "[bold]neutral[/bold]"
