"""Reading an uploaded CSV, filling defaults and planning requests (pure); scoring on the real API."""
import pandas as pd
import pytest

from affectlab.dashboard import batch
from affectlab.dashboard.client import ApiClient
from affectlab.errors import DataFormatError


def test_missing_columns_take_the_defaults_and_row_values_win():
    frame = batch.read_csv(b"text,speaker\nHello there.,Ann\nGo away.,\n")
    filled = batch.fill_defaults(frame, batch.Defaults(speaker="Bob", topic="work"))
    assert list(filled["speaker"]) == ["Ann", "Bob"] and list(filled["topic"]) == ["work", "work"]
    assert list(filled["scenario"]) == ["", ""]


def test_a_byte_order_mark_and_spaces_in_the_header_are_not_part_of_the_names():
    frame = batch.read_csv("\ufefftext , topic\nhi,x\n".encode("utf-8"))
    assert list(frame.columns) == ["text", "topic"]


@pytest.mark.parametrize("data, says", [
    (b"", "is empty"),
    (b"  \n", "is empty"),
    (b"sentence,speaker\nhi,Ann\n", "no `text` column (columns found: `sentence`, `speaker`)"),
    (b"text\n", "a header but no rows"),
    ("text\ncaf\xe9 au lait\n".encode("latin-1"), "is not UTF-8 text (byte 0xe9 on line 2"),
    (b"text,speaker\nhi,Ann\n  ,Bob\n", "rows without a text (lines 3)"),
    (b'text\n"unclosed\n', "not a well-formed CSV"),
])
def test_unreadable_uploads_say_what_to_change(data, says):
    with pytest.raises(DataFormatError, match=None) as error:
        batch.read_csv(data, "upload.csv")
    assert says in str(error.value) and "upload.csv" in str(error.value)


def test_plain_rows_go_in_batches_of_64_and_rows_with_a_speaker_alone_in_order():
    texts = [f"text {i}" for i in range(130)]
    speakers = [""] * 130
    speakers[100] = "Ann"
    frame = batch.fill_defaults(pd.DataFrame({"text": texts, "speaker": speakers}), batch.Defaults())
    requests = batch.plan(frame)
    assert [len(r.rows) for r in requests] == [64, 36, 1, 29]
    assert requests[2].speaker == "Ann" and requests[2].rows == [100]
    assert [row for r in requests for row in r.rows] == list(range(130))


def test_a_default_scenario_sends_every_row_with_it():
    frame = batch.fill_defaults(pd.DataFrame({"text": ["a", "b"]}), batch.Defaults(scenario="support call"))
    assert [r.scenario for r in batch.plan(frame)] == ["support call", "support call"]


@pytest.mark.integration
def test_score_through_the_real_api_keeps_order_and_reports_progress(api):
    frame = batch.fill_defaults(batch.read_csv(b"text,speaker\nWe won the game!,\nI am so angry.,Ann\nOkay.,\n"),
                                batch.Defaults(topic="sport"))
    seen = []
    with ApiClient(api.url, api.key) as client:
        scored = batch.score(client, frame, progress=lambda done, total: seen.append((done, total)))
    assert seen == [(1, 3), (2, 3), (3, 3)]
    assert list(scored["text"]) == list(frame["text"]) and list(scored["topic"]) == ["sport"] * 3
    assert {"label", "p_joy", "p_anger"} <= set(scored.columns)
    probabilities = scored[[c for c in scored.columns if c.startswith("p_")]]  # the engine: one sigmoid each
    assert len(probabilities.columns) == 9 and probabilities.stack().between(0, 1).all()
    assert batch.to_csv(scored).decode().splitlines()[0].startswith("text,speaker,topic,scenario,label,p_")
