import numpy as np
import pandas as pd

from affectlab.features.context import context_index, with_context


def test_previous_turns_stay_inside_their_dialogue_and_follow_turn_order():
    table = pd.DataFrame({"dialogue": ["a", "b", "a", "a", "b", None],
                          "turn": [2, 0, 0, 1, 1, 0]})
    index, mask = context_index(table, 2)
    # row 0 is turn 2 of dialogue a: previous turns are rows 2 (turn 0) and 3 (turn 1)
    assert index[0].tolist() == [2, 3, 0]
    assert index[2].tolist() == [-1, -1, 2]          # first turn has no context
    assert index[4].tolist() == [-1, 1, 4]           # dialogue b never borrows from a
    assert index[5].tolist() == [-1, -1, 5]          # no dialogue id: alone
    assert mask.sum() == index.__ge__(0).sum()
    x = np.arange(6, dtype=np.float32)[:, None]
    seq = with_context(x, index, mask)
    assert seq[0, :, 0].tolist() == [2, 3, 0] and seq[2, :, 0].tolist() == [0, 0, 2]
