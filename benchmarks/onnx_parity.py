"""Do the ONNX backends give PyTorch's answers? Every head of a fine-tuned pipeline, on real text.

    python benchmarks/onnx_parity.py [--pipeline NAME_OR_DIR] [--data-root ../shared/data] [--n 200]

The pipeline (default: the shipped text one) is copied into a temporary folder and exported
there (fp32 and dynamic INT8, `affectlab.onnx_backend.export_onnx`). On the first --n MELD test
utterances (a fixed set of sentences without MELD), each backend's outputs are compared with
PyTorch's: per classification head, the share of texts whose top class agrees and the largest
probability difference; per regression head, the mean and largest absolute difference.
"""
from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from engine import batch_texts  # noqa: E402

from affectlab.onnx_backend import export_onnx  # noqa: E402
from affectlab.pipeline import Pipeline  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pipeline", default=None, help="a shipped pipeline's name or a pipeline folder")
    parser.add_argument("--data-root", default="../shared/data")
    parser.add_argument("--n", type=int, default=200)
    args = parser.parse_args()
    source = Pipeline.load(args.pipeline, device="cpu") if args.pipeline else Pipeline.default(device="cpu")
    texts, where = batch_texts(Path(args.data_root), args.n)
    with tempfile.TemporaryDirectory() as folder:
        target = Path(folder) / "pipeline"
        shutil.copytree(source.path, target)
        export_onnx(Pipeline.load(target, device="cpu"))
        reference = Pipeline.load(target, device="cpu").predict_outputs(texts)
        print(f"{source.path.name}: {len(texts)} {where}; every backend against PyTorch")
        for backend in ("onnx", "onnx-int8"):
            outputs = Pipeline.load(target, backend=backend).predict_outputs(texts)
            cells = []
            for task, expected in reference.items():
                if np.isnan(expected).all():  # dissonance: single texts have no context to depart from
                    continue
                got = outputs[task]
                diff = np.abs(got - expected)
                kind = source.tasks[task].kind if task in source.tasks else "score"
                if kind in ("single_label", "multi_label"):
                    agree = float((got.argmax(1) == expected.argmax(1)).mean())
                    cells.append(f"{task} top-1 {agree:.3f} (max |dp| {np.nanmax(diff):.2g})")
                else:
                    cells.append(f"{task} mean |d| {np.nanmean(diff):.3g} (max {np.nanmax(diff):.2g})")
            print(f"  {backend:9s} " + "; ".join(cells))


if __name__ == "__main__":
    main()
