"""The HTTP client's messages and the conversation's trajectory, on a real server."""
import pytest

from affectlab.dashboard import conversation
from affectlab.dashboard.client import ApiClient, ApiKeyError, ApiUnreachableError, EndpointMissingError, ApiError
from affectlab.errors import InputError


def test_speaker_lines_become_turns_and_other_lines_take_the_default_speaker():
    turns = conversation.parse_turns("Alice: I got the job!\n\n  it is great: really\nno speaker here\n", "Me")
    assert turns == [{"speaker": "Alice", "text": "I got the job!"}, {"speaker": "it is great", "text": "really"},
                     {"speaker": "Me", "text": "no speaker here"}]
    with pytest.raises(InputError, match="conversation is empty"):
        conversation.parse_turns(" \n ")


def test_a_url_that_is_not_http_is_refused_before_any_call():
    with pytest.raises(ApiUnreachableError, match="not an http"):
        ApiClient("localhost:8000", "k")


@pytest.mark.integration
def test_a_down_api_and_a_wrong_or_missing_key_say_what_to_do(api, dead_url):
    with ApiClient(dead_url, api.key, timeout=3) as client, pytest.raises(ApiUnreachableError, match="affectlab serve"):
        client.pipelines()
    with ApiClient(api.url, "al_0000_wrong") as client, pytest.raises(ApiKeyError, match="rejected the key.*keys create"):
        client.pipelines()
    with ApiClient(api.url, None) as client, pytest.raises(ApiKeyError, match="none was given"):
        client.pipelines()
    with ApiClient(api.url, api.key) as client:
        with pytest.raises(ApiError, match="pipeline: no pipeline 'nope'"):
            client.predict("hi", pipeline="nope")
        with pytest.raises(EndpointMissingError, match="has no GET /v1/nothing"):
            client._call("GET", "/v1/nothing")


@pytest.mark.integration
def test_predict_explain_and_a_conversation_trajectory(api):
    with ApiClient(api.url, api.key) as client:
        served = client.pipelines()
        assert served["default"] in [p["name"] for p in served["pipelines"]]
        prediction = client.predict("We won the game! Amazing.")
        assert set(prediction["label"]) <= set(prediction["probabilities"])  # the engine: multi-label primaries
        explanation = client.explain("We won the game! Amazing.")
        assert [w["word"] for w in explanation["words"]] == ["We", "won", "the", "game!", "Amazing."]
        turns = conversation.parse_turns("A: I got the job!\nB: That's wonderful.\nA: But I have to move away.")
        found, complete = conversation.trajectory(client, turns)
    assert [t["speaker"] for t in found["turns"]] == ["A", "B", "A"] and found["classes"]
    assert all(t["label"] in t["probabilities"] for t in found["turns"])  # the trajectory follows MELD-7 (single-label)
    if complete:  # POST /v1/trajectory
        assert found["forecast"] is None or set(found["forecast"]["probabilities"]) <= set(found["classes"])
    else:  # turn by turn: each turn read the ones before it, and there is no forecast
        assert [t["context"] for t in found["turns"]] == [[], ["I got the job!"], ["I got the job!", "That's wonderful."]]
        assert found["forecast"] is None
