import numpy as np
import pandas as pd
import pytest

from affectlab.corpora.corpus import Corpus
from affectlab.errors import DataNotFoundError
from affectlab.features import TextEncoder, extract_text_features, list_layer_combinations, list_poolers
from tests.conftest import CORPUS


@pytest.fixture()
def corpus():
    table = pd.DataFrame({"uid": [f"u{i}" for i in range(len(CORPUS))], "text": CORPUS,
                          "label": ["joy"] * len(CORPUS), "split": ["train"] * 8 + ["test"] * 4})
    return Corpus("toy", table)


def test_one_pass_equals_per_variant_passes(tiny_encoder_dir, corpus):
    enc = TextEncoder(str(tiny_encoder_dir), device="cpu")
    variants = [(l, p) for l in list_layer_combinations() for p in list_poolers() if p != "wmean_idf"]
    together = enc.encode(CORPUS, variants, progress=False, batch_size=5)
    for variant in variants[::7]:
        alone = enc.encode(CORPUS, [variant], progress=False, batch_size=3)[variant]
        np.testing.assert_allclose(together[variant], alone, rtol=1e-4, atol=1e-5)
    # avg_last4 + mean is the mean over layers of per-layer means
    stacked = enc.encode(CORPUS, [("stack_last4", "mean")], progress=False)[("stack_last4", "mean")]
    np.testing.assert_allclose(stacked.mean(1), together[("avg_last4", "mean")], rtol=1e-4, atol=1e-5)


def test_cache_is_reused_and_complete(tiny_encoder_dir, corpus, tmp_path):
    kwargs = dict(encoder=str(tiny_encoder_dir), cache_dir=tmp_path, progress=False, device="cpu")
    first = extract_text_features(corpus, [("last", "mean"), ("last", "wmean_idf")], **kwargs)
    assert len(first.info["computed"]) == 2 and first.idf is not None
    second = extract_text_features(corpus, [("last", "mean")], **kwargs)
    assert second.info["computed"] == []
    np.testing.assert_array_equal(first.get(("last", "mean")), second.get(("last", "mean")))
    assert not list(tmp_path.rglob("*.tmp"))


def test_hierarchical_mask_counts_sentences(tiny_encoder_dir, corpus, tmp_path):
    feats = extract_text_features(corpus, [("last", "mean")], encoder=str(tiny_encoder_dir), mode="hierarchical",
                                  cache_dir=tmp_path, progress=False, device="cpu")
    x = feats.get(("last", "mean"))
    assert x.ndim == 3 and feats.mask.shape == x.shape[:2]
    # "Leave me alone. I mean it." has two sentences, "This is wonderful news." one
    assert feats.mask[CORPUS.index("Leave me alone. I mean it.")].sum() == 2
    assert feats.mask[CORPUS.index("This is wonderful news.")].sum() == 1


def test_missing_encoder_directory_is_a_clear_error(tmp_path):
    with pytest.raises(DataNotFoundError, match="never downloads"):
        TextEncoder(str(tmp_path / "nope"))
