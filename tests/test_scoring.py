"""Bulk scoring: chunks, every format, ids kept, resumable after kill -9, parallel = sequential."""
import json
import os
import signal
import subprocess
import sys
import time

import pandas as pd
import pytest

from affectlab.errors import InputError
from affectlab.scoring import ScoreJob, score_chunk, score_file, read_chunks

pytestmark = pytest.mark.integration

TEXTS = ["I can't believe you did this!", "This is wonderful news.", "Why would you say that?",
         "Oh no, that's terrible.", "We won the game! Amazing.", "Okay. Fine. Whatever.", ""]


def _input(folder, n=35, kind="csv"):
    frame = pd.DataFrame({"doc": [f"d{i:03d}" for i in range(n)], "body": [TEXTS[i % len(TEXTS)] for i in range(n)]})
    path = folder / f"in.{kind}"
    if kind == "csv":
        frame.to_csv(path, index=False)
    elif kind == "jsonl":
        frame.to_json(path, orient="records", lines=True)
    else:
        frame.to_parquet(path, index=False)
    return path, frame


def _read(path):
    kind = path.suffix
    if kind == ".csv":
        return pd.read_csv(path, dtype={"doc": str}, keep_default_na=False)
    if kind == ".jsonl":
        return pd.read_json(path, lines=True, dtype={"doc": str})
    return pd.read_parquet(path)


@pytest.mark.parametrize("source, target", [("csv", "csv"), ("jsonl", "parquet"), ("parquet", "jsonl")])
def test_every_row_comes_back_once_with_its_id_in_any_format(tmp_path, source, target):
    path, frame = _input(tmp_path, kind=source)
    out = tmp_path / f"out.{target}"
    result = score_file(ScoreJob(str(path), str(out), None, "doc", "body", chunk_size=8), progress=False)
    scored = _read(out)
    assert result["rows_scored"] == len(frame) and scored["doc"].tolist() == frame["doc"].tolist()
    empty = scored["doc"].isin(frame.loc[frame["body"] == "", "doc"])
    assert (scored.loc[empty, "error"] == "empty text").all() and scored.loc[~empty, "label"].notna().all()
    assert not (tmp_path / f"out.{target}.parts").exists()


def test_a_resumed_run_skips_finished_chunks_and_gives_the_same_file(tmp_path):
    path, frame = _input(tmp_path)
    whole = tmp_path / "whole.csv"
    score_file(ScoreJob(str(path), str(whole), None, "doc", "body", 8), progress=False)
    resumed = tmp_path / "resumed.csv"
    job = ScoreJob(str(path), str(resumed), None, "doc", "body", 8)
    job.parts.mkdir()
    for index, chunk in zip(range(2), read_chunks(path, 8)):  # what an interrupted run left
        score_chunk(job, index, chunk)
    (job.parts / ".part-000002.jsonl.123.tmp").write_text("half a chunk")  # a killed writer's leftover
    result = score_file(job, progress=False)
    assert result == {"rows_scored": len(frame) - 16, "rows_already_done": 16, "output": str(resumed)}
    assert resumed.read_text() == whole.read_text()


def test_kill_9_then_rerun_gives_the_uninterrupted_output(tmp_path):
    path, _ = _input(tmp_path, n=120)
    command = [sys.executable, "-m", "affectlab.cli", "score", str(path), "--id-column", "doc",
               "--text-column", "body", "--chunk-size", "5", "--quiet"]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    whole = tmp_path / "whole.jsonl"
    subprocess.run([*command, "--out", str(whole)], check=True, env=env, capture_output=True, timeout=300)
    out = tmp_path / "out.jsonl"
    process = subprocess.Popen([*command, "--out", str(out)], env=env, start_new_session=True,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    parts = tmp_path / "out.jsonl.parts"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and len(list(parts.glob("part-*"))) < 3:
        time.sleep(0.02)
    os.killpg(process.pid, signal.SIGKILL)
    process.wait(10)
    assert not out.exists() and 0 < len(list(parts.glob("part-*"))) < 24  # stopped part-way
    subprocess.run([*command, "--out", str(out)], check=True, env=env, capture_output=True, timeout=300)
    assert out.read_text() == whole.read_text()


def test_two_processes_write_what_one_does(tmp_path):
    path, _ = _input(tmp_path, n=40)
    one, two = tmp_path / "one.jsonl", tmp_path / "two.jsonl"
    score_file(ScoreJob(str(path), str(one), None, "doc", "body", 6), workers=1, progress=False)
    score_file(ScoreJob(str(path), str(two), None, "doc", "body", 6), workers=2, progress=False)
    rows_one, rows_two = ([json.loads(line) for line in f.read_text().splitlines()] for f in (one, two))
    assert [(r["doc"], r["label"]) for r in rows_one] == [(r["doc"], r["label"]) for r in rows_two]
    for a, b in zip(rows_one, rows_two):  # workers run 1 thread each: the same numbers, up to float order
        assert all(abs((a[k] or 0) - (b[k] or 0)) < 1e-5 for k in a if k.startswith("p_"))


def test_a_missing_column_is_named(tmp_path):
    path, _ = _input(tmp_path)
    with pytest.raises(InputError, match="no column 'text'.*--text-column"):
        score_file(ScoreJob(str(path), str(tmp_path / "o.csv"), None, "doc", "text", 8), progress=False)


def test_ray_data_writes_the_file_local_processes_write(tmp_path):
    pytest.importorskip("ray", reason="the Ray backend needs ray (pip install affectlab[grid])")
    path, _ = _input(tmp_path, n=30, kind="jsonl")
    local, ray_out = tmp_path / "local.jsonl", tmp_path / "ray.jsonl"
    score_file(ScoreJob(str(path), str(local), None, "doc", "body", 7), progress=False)
    score_file(ScoreJob(str(path), str(ray_out), None, "doc", "body", 7), workers=1, progress=False, backend="ray")
    rows_local, rows_ray = ([json.loads(line) for line in f.read_text().splitlines()] for f in (local, ray_out))
    assert [(r["doc"], r["label"], r["error"]) for r in rows_local] == [(r["doc"], r["label"], r["error"]) for r in rows_ray]
