"""The page's logic in Streamlit's AppTest (the script run in-process) against a real server."""
import json
from pathlib import Path

import pytest

pytest.importorskip("streamlit")
from streamlit.testing.v1 import AppTest  # noqa: E402

import affectlab.dashboard  # noqa: E402

APP = str(Path(affectlab.dashboard.__file__).with_name("app.py"))
pytestmark = pytest.mark.integration


def page(url: str, key: str | None, **state) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60)
    at.session_state["api_url"] = url
    at.session_state["api_key"] = key or ""
    for name, value in state.items():
        at.session_state[name] = value
    return at.run()


def charts(at: AppTest) -> list[dict]:
    """Every Plotly chart on the page, as the figure JSON the browser would draw."""
    return [json.loads(element.proto.spec) for element in at.get("plotly_chart")]


def traces(at: AppTest) -> list[str]:
    return [t["type"] for spec in charts(at) for t in spec["data"]]


def test_the_sidebar_names_the_pipeline_and_its_version(api):
    at = page(api.url, api.key)
    assert not at.exception and not at.error
    assert at.sidebar.selectbox(key="pipeline").value == "default"
    assert "version `" in at.sidebar.caption[0].value and "default" in at.sidebar.caption[0].value
    assert [t.label for t in at.tabs] == ["One text", "Conversation", "Batch"]  # no LLM endpoint, no LLM tab


def test_a_wrong_key_and_a_down_api_are_one_clear_message(api, dead_url):
    wrong = page(api.url, "al_0000_wrong")
    assert not wrong.exception and len(wrong.error) == 1
    assert "401" in wrong.error[0].value and "affectlab keys create" in wrong.error[0].value
    down = page(dead_url, api.key)
    assert not down.exception and "cannot reach the API" in down.error[0].value and "affectlab serve" in down.error[0].value


def test_one_text_shows_the_label_the_radar_and_the_word_heatmap(api):
    at = page(api.url, api.key)
    at.text_area(key="one_text").input("We won the game! Amazing.")
    at.button(key="analyse").click().run()
    assert not at.exception and not at.error
    label = next(m.value for m in at.markdown if "affectlab-label" in m.value)
    assert "Predicted emotion: <b>joy" in label  # the engine's primaries are multi-label (e.g. joy, trust)
    assert traces(at) == ["scatterpolar", "barpolar", "heatmap"]  # radar, the wheel, the word heatmap
    assert any("Wheel state:" in m.value for m in at.markdown)
    heatmap = next(spec for spec in charts(at) if spec["data"][0]["type"] == "heatmap")["data"][0]
    assert heatmap["text"] == [["We", "won", "the", "game!", "Amazing."]]
    assert sum('class="affectlab-word"' in m.value for m in at.markdown) == 1


def test_an_empty_text_asks_for_one(api):
    at = page(api.url, api.key)
    at.button(key="analyse").click().run()
    assert not at.exception and at.error[0].value == "Type a text first."


def test_a_conversation_shows_its_turns_contexts_and_trajectory(api):
    at = page(api.url, api.key)
    at.text_area(key="conversation").input("Alice: I finally got the job!\nBob: No way, that's amazing.\n"
                                           "Alice: But I have to move away.")
    at.button(key="show_trajectory").click().run()
    assert not at.exception and not at.error
    table = at.dataframe[0].value
    assert list(table["speaker"]) == ["Alice", "Bob", "Alice"] and table["label"].notna().all()
    # the engine reads the 2 previous turns, and /v1/trajectory says which for each turn
    assert list(table["context the model used"]) == ["(none)", "I finally got the job!",
                                                     "I finally got the job! ⏎ No way, that's amazing."]
    assert table["wheel"].astype(bool).all() and table["intensity"].between(0, 1).all()
    spec = charts(at)[0]
    stacks = {t.get("stackgroup") for t in spec["data"]}
    assert "turns" in stacks and all(t["type"] == "scatter" for t in spec["data"])
    assert "forecast" in stacks  # POST /v1/trajectory answered with the shipped ODE forecaster
    assert any(t["x"][-1] == "next (forecast)" for t in spec["data"])


def test_batch_scores_an_upload_and_offers_the_results(api):
    at = page(api.url, api.key, default_topic="sport")
    at.file_uploader(key="batch_file").set_value(("games.csv", b"text,speaker\nWe won!,Ann\nThey lost.,\n", "text/csv")).run()
    assert not at.exception and not at.error
    at.button(key="batch_score").click().run()
    assert not at.exception and not at.error
    results = at.dataframe[0].value
    assert list(results["speaker"]) == ["Ann", ""] and list(results["topic"]) == ["sport", "sport"]
    assert "label" in results and at.get("progress")[0].proto.value == 100
    assert at.get("download_button")


@pytest.mark.parametrize("content, says", [
    (b"sentence\nhi\n", "no `text` column"),
    ("text\ncaf\xe9\n".encode("latin-1"), "is not UTF-8 text"),
    (b"", "is empty"),
])
def test_an_unusable_upload_is_one_clear_message(api, content, says):
    at = page(api.url, api.key)
    at.file_uploader(key="batch_file").set_value(("bad.csv", content, "text/csv")).run()
    assert not at.exception and len(at.error) == 1 and says in at.error[0].value


def test_the_llm_view_appears_with_an_endpoint_and_shows_a_report(api, tmp_path):
    report = tmp_path / "compare.json"
    report.write_text(json.dumps({"model": "tiny", "agreement": {"accuracy": 0.75, "cohen_kappa": 0.5},
                                  "per_class": {"joy": {"f1": 0.8}, "anger": {"f1": 0.6}}}))
    at = page(api.url, api.key, llm_url="http://127.0.0.1:9/v1", llm_report=str(report))
    assert not at.exception and [t.label for t in at.tabs][-1] == "LLM comparison"
    assert {m.label: m.value for m in at.metric} == {"accuracy": "0.750", "cohen kappa": "0.500"}
    assert "bar" in traces(at)
    bare = page(api.url, api.key, llm_url="http://127.0.0.1:9/v1")
    assert "--llm-report" in bare.info[0].value
