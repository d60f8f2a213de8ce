"""Text feature extraction speed: all 45 layer x pooling variants in ONE forward pass per batch
against one pass per variant (the naive way), same machine, same run.

    python benchmarks/text_features.py [--data-root ../shared/data] [--n 400] [--repeats 10]
        [--repeats-per-variant 3]

Reads MELD dev utterances (real text lengths). Each side runs several times after a warm-up
(``benchmarks/_timing.py``): the best time is reported with the spread, so a loaded machine shows
up as a wide spread rather than a wrong ratio. Prints utterances/s for both and their ratio.
A quick check: ``--n 64 --repeats 2 --repeats-per-variant 1``.
"""
from __future__ import annotations

import argparse
import os
import platform

import numpy as np
import torch

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from affectlab.corpora import load_corpus  # noqa: E402
from affectlab.features import TextEncoder, list_layer_combinations, list_poolers  # noqa: E402
from affectlab.features.pooling import fit_idf  # noqa: E402
from _timing import speedup, timed  # noqa: E402  (benchmarks/ is on sys.path when run as a script)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-root", default="../shared/data")
    parser.add_argument("--n", type=int, default=400, help="utterances (MELD dev, first n)")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--encoder", default="default")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--repeats", type=int, default=10, help="timed runs of the one-pass side (best is reported)")
    parser.add_argument("--repeats-per-variant", type=int, default=3,
                        help="timed runs of the one-pass-per-variant side (each is ~45x longer)")
    args = parser.parse_args()

    corpus = load_corpus("meld", args.data_root, splits=["dev"])
    texts = corpus.table["text"].astype(str).tolist()[: args.n]
    encoder = TextEncoder(args.encoder, device=args.device)
    idf = fit_idf(encoder.token_ids(texts), encoder.vocab_size)
    variants = [(layer, pool) for layer in list_layer_combinations() for pool in list_poolers()]
    print(f"machine: {platform.processor() or platform.machine()}, torch threads {torch.get_num_threads()}, "
          f"device {encoder.device}; {len(texts)} MELD dev utterances; {len(variants)} variants")

    def all_at_once() -> dict:
        return encoder.encode(texts, variants, idf=idf, batch_size=args.batch_size, progress=False)

    def one_per_variant() -> dict:
        return {v: encoder.encode(texts, [v], idf=idf, batch_size=args.batch_size, progress=False)[v]
                for v in variants}

    encoder.encode(texts[:64], variants[:1], idf=idf, progress=False)  # warm-up: load, allocate
    one_pass = timed(all_at_once, args.repeats, warmup=False)
    per_variant = timed(one_per_variant, args.repeats_per_variant, warmup=False)  # warm after the first side

    worst = max(float(np.abs(one_pass.result[v] - per_variant.result[v]).max()) for v in variants)
    n, k = len(texts), len(variants)
    print(f"one pass, all variants : {one_pass.best:8.2f} s  ({n / one_pass.best:8.1f} utt/s, "
          f"{n * k / one_pass.best:9.1f} utt-variants/s); {one_pass.spread()}")
    print(f"one pass per variant   : {per_variant.best:8.2f} s  ({n * k / per_variant.best:9.1f} "
          f"utt-variants/s); {per_variant.spread()}")
    print(f"speed-up (per-variant / one-pass) for {k} variants: {speedup(per_variant, one_pass)} "
          f"(max abs difference {worst:.2e})")


if __name__ == "__main__":
    main()
