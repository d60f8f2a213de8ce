"""Text feature extraction speed: all 45 layer x pooling variants in ONE forward pass per batch
against one pass per variant (the naive way), same machine, same run.

    python benchmarks/text_features.py [--data-root ../shared/data] [--n 400]

Reads MELD dev utterances (real text lengths). Prints utterances/s for both and their ratio.
"""
from __future__ import annotations

import argparse
import os
import platform
import time

import numpy as np
import torch

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from affectlab.corpora import load_corpus  # noqa: E402
from affectlab.features import TextEncoder, list_layer_combinations, list_poolers  # noqa: E402
from affectlab.features.pooling import fit_idf  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-root", default="../shared/data")
    parser.add_argument("--n", type=int, default=400, help="utterances (MELD dev, first n)")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--encoder", default="default")
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args()

    corpus = load_corpus("meld", args.data_root, splits=["dev"])
    texts = corpus.table["text"].astype(str).tolist()[: args.n]
    encoder = TextEncoder(args.encoder, device=args.device)
    idf = fit_idf(encoder.token_ids(texts), encoder.vocab_size)
    variants = [(layer, pool) for layer in list_layer_combinations() for pool in list_poolers()]
    print(f"machine: {platform.processor() or platform.machine()}, torch threads {torch.get_num_threads()}, "
          f"device {encoder.device}; {len(texts)} MELD dev utterances; {len(variants)} variants")

    encoder.encode(texts[:64], variants[:1], idf=idf, progress=False)  # warm-up
    start = time.perf_counter()
    together = encoder.encode(texts, variants, idf=idf, batch_size=args.batch_size, progress=False)
    one_pass = time.perf_counter() - start

    start = time.perf_counter()
    separate = {}
    for variant in variants:
        separate[variant] = encoder.encode(texts, [variant], idf=idf, batch_size=args.batch_size,
                                           progress=False)[variant]
    per_variant = time.perf_counter() - start

    worst = max(float(np.abs(together[v] - separate[v]).max()) for v in variants)
    print(f"one pass, all variants : {one_pass:8.2f} s  ({len(texts) / one_pass:8.1f} utt/s, "
          f"{len(texts) * len(variants) / one_pass:9.1f} utt-variants/s)")
    print(f"one pass per variant   : {per_variant:8.2f} s  ({len(texts) * len(variants) / per_variant:9.1f} "
          "utt-variants/s)")
    print(f"speed-up (per-variant / one-pass): {per_variant / one_pass:.1f}x for {len(variants)} variants "
          f"(max abs difference {worst:.2e})")


if __name__ == "__main__":
    main()
