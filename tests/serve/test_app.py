"""The service end to end over HTTP: keys, tenants, limits, validation, the audit log, reload."""
import time

import pytest

from tests.serve.conftest import start_server
from affectlab.serve.keys import revoke_key
from affectlab.serve.settings import ServeSettings

pytestmark = pytest.mark.integration


def test_predict_with_a_key_returns_the_engines_outputs_and_is_audited(server):
    key = server.key("acme")
    with server.client(key) as client:
        answer = client.post("/v1/predict", json={"text": "I can't believe you did this!"})
        assert answer.status_code == 200, answer.text
        prediction = answer.json()["prediction"]  # the default text pipeline is the engine
        assert set(prediction["label"]) <= set(prediction["probabilities"]) and len(prediction["probabilities"]) == 9
        assert prediction["extras"]["wheel"]["state"]
        tasks = prediction["tasks"]
        assert {"goemotions", "meld", "sentiment", "sarcasm", "vad", "intensity", "dissonance"} <= set(tasks)
        assert set(tasks["vad"]["values"]) == {"valence", "arousal", "dominance"}
        assert 0 <= tasks["sarcasm"]["probabilities"]["sarcastic"] <= 1
        batch = client.post("/v1/predict", json={"texts": ["Wonderful news!", "Leave me alone."]}).json()
        assert len(batch["predictions"]) == 2
        records = client.get("/v1/audit").json()["records"]
    assert len(records) == 3 and {r["request_id"] for r in records} == {answer.json()["request_id"], batch["request_id"]}
    assert records[0]["input_text"] is None and len(records[0]["input_sha256"]) == 64  # text kept by policy only
    assert records[0]["outputs"]["label"] == prediction["label"]


def test_no_key_an_unknown_key_and_a_revoked_key_are_401(server):
    key = server.key("acme")
    body = {"text": "Hello there."}
    with server.client() as anonymous:
        assert anonymous.post("/v1/predict", json=body).status_code == 401
    with server.client("al_0000_nope") as wrong:
        assert wrong.post("/v1/predict", json=body).status_code == 401
    with server.client(key) as client:
        assert client.post("/v1/predict", json=body).status_code == 200
        revoke_key(server.engine, key.split("_")[1])
        assert client.post("/v1/predict", json=body).status_code == 401


def test_a_tenant_never_reads_another_tenants_records_and_pages_its_own(server):
    acme, globex = server.key("acme"), server.key("globex")
    with server.client(acme) as a, server.client(globex) as g:
        for text in ("one", "two", "three"):
            assert a.post("/v1/predict", json={"text": text}).status_code == 200
        assert g.post("/v1/predict", json={"text": "secret"}).status_code == 200
        assert {r["tenant"] for r in g.get("/v1/audit").json()["records"]} == {"globex"}
        first = a.get("/v1/audit", params={"limit": 2}).json()
        second = a.get("/v1/audit", params={"limit": 2, "after_id": first["next_after_id"]}).json()
        assert len(first["records"]) == 2 and len(second["records"]) == 1 and second["next_after_id"] is None
        assert {r["tenant"] for r in first["records"] + second["records"]} == {"acme"}
        later = a.get("/v1/audit", params={"since": "2999-01-01T00:00:00Z"}).json()
        assert later["records"] == []


@pytest.mark.parametrize("body, field", [
    ({"text": "x" * 5001}, "text"),
    ({"text": "hi", "texts": ["hi"]}, "text"),
    ({"texts": ["ok", "   "]}, "texts[1]"),
    ({"texts": ["a"] * 65}, "texts"),
    ({"text": "hi", "pipeline": "nope"}, "pipeline"),
    ({"text": "hi", "context": ["a"], "context_speakers": ["A", "B"]}, "context_speakers"),
    ({"text": 5}, "text"),
    ({"text": "hi", "colour": "red"}, "colour"),
])
def test_bad_requests_are_422_naming_the_field(server, body, field):
    with server.client(server.key("acme")) as client:
        answer = client.post("/v1/predict", json=body)
    assert answer.status_code == 422, answer.text
    assert field in [str(part) for part in answer.json()["detail"][0]["loc"]] or field in str(answer.json())


def test_garbage_bodies_and_oversized_bodies_are_4xx(server):
    with server.client(server.key("acme")) as client:
        assert client.post("/v1/predict", content=b"{not json", headers={"content-type": "application/json"}).status_code == 422
        assert client.post("/v1/predict", content=b"x" * 1_000_001,
                           headers={"content-type": "application/json"}).status_code == 413
        assert client.get("/v1/audit", params={"limit": -1}).status_code == 422
        # found by schemathesis: an id past SQLite's 64-bit integers was a 500
        assert client.get("/v1/audit", params={"after_id": 819413536547139812851712}).status_code == 422


def test_context_and_speaker_are_accepted(server):
    with server.client(server.key("acme")) as client:
        answer = client.post("/v1/predict", json={"text": "Oh. Great.", "speaker": "Ann",
                                                  "context": ["I got the job!"], "context_speakers": ["Bob"]})
    assert answer.status_code == 200, answer.text


def test_rate_limit_answers_429_with_retry_after(tmp_path):
    settings = ServeSettings(database_url=f"sqlite:///{tmp_path / 'a.db'}", burst=2, rate_per_minute=1, key_cache_s=0)
    uv, thread, running = start_server(settings)
    try:
        with running.client(running.key("acme")) as client:
            codes = [client.post("/v1/predict", json={"text": "hi"}) for _ in range(3)]
        assert [c.status_code for c in codes] == [200, 200, 429]
        assert int(codes[2].headers["Retry-After"]) >= 1
    finally:
        uv.should_exit = True
        thread.join(10)


def test_reload_needs_an_admin_key_and_swaps_the_pipelines(server):
    with server.client(server.key("acme")) as client:
        assert client.post("/v1/admin/reload").status_code == 403
    with server.client(server.key("ops", admin=True)) as admin:
        answer = admin.post("/v1/admin/reload")
        assert answer.status_code == 200 and answer.json()["reloaded"] is True
        assert admin.get("/v1/pipelines").json()["pipelines"][0]["name"] == "default"


def test_health_ready_metrics_and_openapi(server):
    with server.client() as client:
        assert client.get("/health").json() == {"status": "ok"}
        assert client.get("/ready").json()["ready"] is True
        assert "affectlab_requests_total" in client.get("/metrics").text
        assert "/v1/predict" in client.get("/openapi.json").json()["paths"]


def test_concurrent_requests_share_forward_passes_and_get_their_own_answers(server):
    import concurrent.futures

    texts = [f"Message number {i}: {'great' if i % 2 else 'awful'} news." for i in range(24)]
    key = server.key("acme")

    def ask(text):
        with server.client(key) as client:
            return text, client.post("/v1/predict", json={"text": text}).json()["prediction"]["text"]

    with concurrent.futures.ThreadPoolExecutor(12) as pool:
        answers = list(pool.map(ask, texts))
    assert all(sent == got for sent, got in answers)  # every request its own slice


def test_the_server_keeps_each_tenants_conversation_and_predicts_with_it(server):
    acme, globex = server.key("acme"), server.key("globex")
    with server.client(acme) as a, server.client(globex) as g:
        turns = ["How was the interview?", "It went really well, I think.", "Oh wonderful, just wonderful."]
        answers = [a.post("/v1/conversations/c1/turns", json={"text": t, "speaker": s}).json()
                   for t, s in zip(turns, ["Ann", "Bob", "Ann"])]
        assert [x["context_turns"] for x in answers] == [0, 1, 2]
        assert answers[2]["prediction"]["text"] == turns[2]
        other = g.post("/v1/conversations/c1/turns", json={"text": "Hello?"}).json()
        assert other["context_turns"] == 0  # the same id under another tenant is another conversation
        assert a.post("/v1/conversations/c1/turns", json={"text": ""}).status_code == 422
        assert len(a.get("/v1/audit").json()["records"]) == 3


def test_audio_upload_to_a_speech_pipeline_with_a_duration_limit(tmp_path):
    import io

    import numpy as np
    import soundfile

    from affectlab.pipeline import _shipped_root

    folder = tmp_path / "pipelines"
    folder.mkdir()
    for name in ("text-meld7", "speech-ravdess8"):
        (folder / name).symlink_to(_shipped_root() / name)
    settings = ServeSettings(pipelines=str(folder), database_url=f"sqlite:///{tmp_path / 'a.db'}", key_cache_s=0,
                             max_audio_seconds=3)
    uv, thread, running = start_server(settings)

    def wav(seconds):
        buffer = io.BytesIO()
        t = np.arange(int(16000 * seconds)) / 16000
        soundfile.write(buffer, (0.1 * np.sin(2 * np.pi * 220 * t)).astype(np.float32), 16000, format="WAV")
        return buffer.getvalue()

    try:
        with running.client(running.key("acme")) as client:
            answer = client.post("/v1/audio", content=wav(1.5), headers={"content-type": "audio/wav"})
            assert answer.status_code == 200, answer.text
            assert answer.json()["pipeline"] == "speech-ravdess8" and answer.json()["prediction"]["label"]
            assert client.post("/v1/audio", content=wav(4)).status_code == 422  # over the duration limit
            assert client.post("/v1/audio", content=b"not audio at all").status_code == 422
            assert client.post("/v1/audio", params={"pipeline": "text-meld7"}, content=wav(1)).status_code == 422
            assert client.post("/v1/predict", json={"text": "hi", "pipeline": "speech-ravdess8"}).status_code == 422
            record = client.get("/v1/audit").json()["records"][0]
            assert record["input_text"] is None and len(record["input_sha256"]) == 64
    finally:
        uv.should_exit = True
        thread.join(10)


def test_explain_returns_word_attributions_is_audited_and_names_bad_targets(server):
    with server.client(server.key("acme")) as client:
        answer = client.post("/v1/explain", json={"text": "The meeting was awful."})
        assert answer.status_code == 200, answer.text
        explanation = answer.json()["explanation"]
        assert [w["word"] for w in explanation["words"]] == ["The", "meeting", "was", "awful."]
        assert explanation["target"] in client.post("/v1/predict", json={"text": "x"}).json()["prediction"]["probabilities"]
        assert explanation["mode"] == "fast" and explanation["delta"] >= 0
        records = client.get("/v1/audit").json()["records"]
        assert answer.json()["request_id"] in {r["request_id"] for r in records}
        explained = next(r for r in records if r["request_id"] == answer.json()["request_id"])
        assert explained["outputs"]["explain"]["target"] == explanation["target"]
        bad = client.post("/v1/explain", json={"text": "hi", "target": "happy"})
        assert bad.status_code == 422 and "happy" in bad.text
        assert client.post("/v1/explain", json={"text": "hi", "steps": 1, "mode": "full"}).status_code == 422
        assert client.post("/v1/explain", json={"text": "   "}).status_code == 422


def test_trajectory_predicts_every_turn_forecasts_the_next_and_is_audited(server):
    turns = [{"text": "I finally got the job!", "speaker": "Alice"}, {"text": "No way, that's amazing.", "speaker": "Bob"},
             {"text": "But I have to move away.", "speaker": "Alice"}]
    with server.client(server.key("acme")) as client:
        answer = client.post("/v1/trajectory", json={"turns": turns, "times": [0, 2.5, 6]})
        assert answer.status_code == 200, answer.text
        body = answer.json()
        assert [t["speaker"] for t in body["turns"]] == ["Alice", "Bob", "Alice"]
        assert all(t["label"] in body["classes"] for t in body["turns"])
        forecast = body["forecast"]  # the shipped MELD-7 pipeline keeps a neural-ODE forecaster
        assert forecast["method"] == "ode" and set(forecast["probabilities"]) == set(body["classes"])
        assert abs(sum(forecast["probabilities"].values()) - 1) < 1e-3 and len(forecast["path"]) == 5
        records = [r for r in client.get("/v1/audit").json()["records"] if r["request_id"] == body["request_id"]]
        assert len(records) == 3
        assert client.post("/v1/trajectory", json={"turns": []}).status_code == 422
        bad = client.post("/v1/trajectory", json={"turns": turns, "times": [0, 1]})
        assert bad.status_code == 422 and "times" in bad.text
        empty = client.post("/v1/trajectory", json={"turns": [{"text": " "}]})
        assert empty.status_code == 422 and "turns.0.text" in empty.text
