import pandas as pd
import pytest

from affectlab.features.tokens import DialogueWindow, TokenCollate, token_items


@pytest.fixture
def tokenizer(tiny_encoder_dir):
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(tiny_encoder_dir)


def _table():
    return pd.DataFrame({"text": ["This is wonderful news.", "Why would you say that?", "I am so angry right now.",
                                  "Okay. Fine. Whatever."],
                         "speaker": ["Ross", "Rachel", "Ross", "Joey"], "dialogue": [1, 1, 1, 2], "turn": [0, 1, 2, 0]})


def _focus(tokenizer, item):
    first, stop = item["focus"]
    return tokenizer.decode(item["ids"][first:stop])


def test_past_turns_with_speakers_come_before_the_current_utterance(tokenizer):
    items = token_items(tokenizer, _table(), DialogueWindow(past=2, max_length=64))
    text = tokenizer.decode(items[2]["ids"])
    assert text.index("wonderful") < text.index("why") < text.index("angry")
    focus = _focus(tokenizer, items[2])
    assert "angry right now" in focus and "why" not in focus and "wonderful" not in focus
    assert "angry" not in tokenizer.decode(items[3]["ids"])  # another dialogue


def test_future_turns_follow_only_when_asked(tokenizer):
    past_only = token_items(tokenizer, _table(), DialogueWindow(past=1, max_length=64))
    both = token_items(tokenizer, _table(), DialogueWindow(past=1, future=1, max_length=64))
    assert "angry" not in tokenizer.decode(past_only[1]["ids"])
    assert tokenizer.decode(both[1]["ids"]).index("why") < tokenizer.decode(both[1]["ids"]).index("angry")


def test_truncation_never_cuts_the_current_utterance_for_context(tokenizer):
    table = _table()
    table.loc[0, "text"] = " ".join(["wonderful"] * 80)
    items = token_items(tokenizer, table, DialogueWindow(past=2, max_length=24))
    assert all(len(item["ids"]) <= 24 for item in items)
    assert "angry right now" in _focus(tokenizer, items[2])  # the long past turn was cut instead


def test_collate_pads_per_batch_and_marks_focus(tokenizer):
    items = token_items(tokenizer, _table(), DialogueWindow(past=2, speakers=False, max_length=64))
    batch = TokenCollate(tokenizer.pad_token_id)(items[:2])
    assert batch["text_ids"].dtype.is_floating_point is False
    assert batch["text_ids"].shape[1] == max(len(i["ids"]) for i in items[:2])
    assert batch["text_focus"].sum(1).tolist() == [items[0]["focus"][1] - items[0]["focus"][0],
                                                   items[1]["focus"][1] - items[1]["focus"][0]]


def test_tags_are_one_special_token_each_after_cls(tiny_encoder_dir):
    from affectlab.features.tokens import tag_token, tag_vocabulary
    from affectlab.models.text_encoder import load_tokenizer

    table = _table().assign(scenario=["Work place", "work place", None, "family"])
    vocab = tag_vocabulary(table.iloc[:2], ["scenario"])  # "family" is never seen in training
    assert vocab == ["[scenario=?]", "[scenario=work_place]"]
    tokenizer = load_tokenizer(str(tiny_encoder_dir), vocab)
    items = token_items(tokenizer, table, DialogueWindow(past=1, max_length=64, tags=("scenario",)))
    ids = tokenizer.convert_tokens_to_ids(vocab)
    assert [item["ids"][1] for item in items] == [ids[1], ids[1], ids[0], ids[0]]  # unseen and missing: ?
    assert "work" not in _focus(tokenizer, items[1])
    assert tag_token("topic", "  Big  Bang ") == "[topic=big_bang]"


def test_tags_count_against_max_length_and_never_cut_the_current_utterance(tiny_encoder_dir):
    from affectlab.models.text_encoder import load_tokenizer

    tokenizer = load_tokenizer(str(tiny_encoder_dir), ["[scenario=?]", "[topic=?]"])
    table = _table()
    alone = token_items(tokenizer, table, DialogueWindow(max_length=256))[2]
    current = alone["focus"][1] - alone["focus"][0]
    limit = current + 2 + 2 + 3  # [CLS] [SEP], two tags, room for a little context only
    items = token_items(tokenizer, table, DialogueWindow(past=2, max_length=limit, tags=("scenario", "topic")))
    assert all(len(item["ids"]) <= limit for item in items)
    assert _focus(tokenizer, items[2]) == _focus(tokenizer, alone)


def test_a_row_that_carries_its_own_context_reads_it_like_dialogue_turns(tiny_encoder_dir):
    """MUStARD-style rows (a list of previous turns) give the window a dialogue lookup gives."""
    import pandas as pd

    from affectlab.features.tokens import DialogueWindow, token_items
    from affectlab.models.text_encoder import load_tokenizer

    tokenizer = load_tokenizer(str(tiny_encoder_dir))
    window = DialogueWindow(past=2, max_length=64)
    dialogue = pd.DataFrame({"text": ["Hello there.", "Is it raining?", "Oh sure, lovely weather."],
                             "speaker": ["A", "B", "A"], "dialogue": ["d"] * 3, "turn": [0, 1, 2]})
    own = pd.DataFrame({"text": ["Oh sure, lovely weather."], "speaker": ["A"],
                        "context": [["Hi.", "Hello there.", "Is it raining?"]], "context_speakers": [["B", "A", "B"]]})
    assert token_items(tokenizer, own, window)[0] == token_items(tokenizer, dialogue, window)[2]
    none = own.assign(context=[[]])
    assert "past" not in token_items(tokenizer, none, window)[0]


@pytest.mark.parametrize("window", [DialogueWindow(past=2, max_length=64), DialogueWindow(max_length=8),
                                    DialogueWindow(past=1, speakers=False, max_length=64, tags=("scenario",))])
def test_independent_texts_give_the_items_of_one_turn_dialogues(tiny_encoder_dir, window):
    """The table-free path a lone request takes builds what the table path builds."""
    from affectlab.features.tokens import independent_token_items
    from affectlab.models.text_encoder import load_tokenizer

    tokenizer = load_tokenizer(str(tiny_encoder_dir), ["[scenario=?]"])
    texts = ["This is wonderful news, the best I have heard all year.", "Why?"]
    speakers = ["Ross", None]
    table = pd.DataFrame({"text": texts, "speaker": speakers, "dialogue": [None, None], "turn": [0, 0]})
    assert independent_token_items(tokenizer, texts, speakers, window) == token_items(tokenizer, table, window)
    assert independent_token_items(tokenizer, texts, None, window) == token_items(tokenizer, table.drop(columns="speaker"), window)
