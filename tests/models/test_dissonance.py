"""The dissonance head: context tokens never see the current turn, the score is in [0, 1] (NaN
without context), and training it moves only the context side."""
import numpy as np
import pandas as pd
import torch

from affectlab.features.tokens import DialogueWindow, TokenCollate, token_items
from affectlab.models.composed import DISSONANCE, ComposedModel
from affectlab.models.dissonance import DissonanceHead
from affectlab.models.text_encoder import EncoderConfig, TrainableTextEncoder, load_tokenizer
from affectlab.training.objectives import Objective, Task

TURNS = pd.DataFrame({"text": ["How was the interview?", "It went really well, I think.", "Oh wonderful, just wonderful."],
                      "speaker": ["Ann", "Bob", "Ann"], "dialogue": ["d1"] * 3, "turn": [0, 1, 2]})


def _batch(path, table, past=2):
    tokenizer = load_tokenizer(str(path))
    items = token_items(tokenizer, table, DialogueWindow(past=past, max_length=64))
    return {f"text_{k[5:]}": v for k, v in TokenCollate(tokenizer.pad_token_id)(items).items()}


def _encoder(path):
    return TrainableTextEncoder(EncoderConfig(path=str(path), finetune="full")).eval()


def test_past_tokens_are_marked_only_where_there_is_context(tiny_encoder_dir):
    batch = _batch(tiny_encoder_dir, TURNS)
    past = batch["text_past"]
    assert past[0].sum() == 0 and past[1].sum() > 0 and past[2].sum() > past[1].sum()
    assert not (past.bool() & batch["text_focus"].bool()).any()  # never the current turn
    assert "text_past" not in _batch(tiny_encoder_dir, TURNS, past=0)  # no window, no field


def test_the_context_vector_has_not_seen_the_current_turn(tiny_encoder_dir):
    encoder = _encoder(tiny_encoder_dir)
    changed = TURNS.copy()
    changed.loc[2, "text"] = "That is terrible news, I am so sorry."
    fields = [{k[5:]: v for k, v in _batch(tiny_encoder_dir, t).items()} for t in (TURNS, changed)]
    with torch.no_grad():
        (u1, c1, has1), (u2, c2, has2) = (encoder.with_context(**f) for f in fields)
    assert has1.tolist() == [False, True, True]
    torch.testing.assert_close(c1[2], c2[2])  # the context reads the same whatever the reply says
    assert not torch.allclose(u1[2], u2[2])  # the current turn still reads its context and itself


def test_scores_lie_in_0_1_are_nan_without_context_and_train_the_context_side_only(tiny_encoder_dir):
    encoder = _encoder(tiny_encoder_dir).train()
    model = ComposedModel({"text": encoder}, {"label": torch.nn.Linear(encoder.out_dim, 2)},
                          DissonanceHead(encoder.out_dim, 16))
    batch = _batch(tiny_encoder_dir, TURNS)
    out = model(**batch)
    score = out[DISSONANCE][:, 0].detach().numpy()
    assert np.isnan(score[0]) and np.all((score[1:] >= 0) & (score[1:] <= 1))
    objective = Objective([Task("label", "single_label", torch.nn.CrossEntropyLoss()),
                           Task(DISSONANCE, "score", torch.nn.Identity(), 0.5)])
    losses = objective(out, {"label": torch.tensor([-1, -1, -1])})  # no labels: only the score trains
    assert torch.isclose(losses[DISSONANCE], torch.tensor(float(np.nanmean(score))))
    losses["total"].backward()
    assert model.dissonance.predict[0].weight.grad.abs().sum() > 0
    assert model.heads["label"].weight.grad is None or model.heads["label"].weight.grad.abs().sum() == 0
