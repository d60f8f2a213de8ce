"""Cold start: a fresh process that predicts one text with the default pipeline, end to end.

    python benchmarks/cold_start.py [--repeats 5]

Each repeat is a new Python process (imports, pipeline load, first forward pass, output), as a
user's `affectlab predict "hello"` is. Three sides, in the same run:
1. the CLI, `affectlab predict "I can't believe you did this!"` (the issue's goal: <= 3 s);
2. the same prediction from Python (`Pipeline.default().predict(...)`), the plain-torch BERT
   reader on (what the pipeline does);
3. the same prediction with the reader off (transformers' AutoModel/AutoTokenizer): the baseline.
The first process of each side is an untimed warm-up (it fills the OS file cache).
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _timing import speedup, timed  # noqa: E402

TEXT = "I can't believe you did this!"
PYTHON = """
import sys
from affectlab.features import bert_reader
if sys.argv[1] == "off":
    bert_reader.readable = lambda path: False
from affectlab.pipeline import Pipeline
print(Pipeline.default().predict([sys.argv[2]])[0].label)
"""


def _run(command: list[str]) -> str:
    done = subprocess.run(command, capture_output=True, text=True, env={**os.environ, "HF_HUB_OFFLINE": "1"})
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(command[:3])} failed: {done.stderr[-800:]}")
    return done.stdout.strip().splitlines()[-1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    cli = [str(Path(sys.executable).with_name("affectlab")), "predict", TEXT]
    if not Path(cli[0]).is_file():
        cli = [sys.executable, "-c", "import sys; from affectlab.cli import main; sys.exit(main())", "predict", TEXT]
    sides = {
        "CLI `affectlab predict` (reader on)": cli,
        "Python, BERT reader on": [sys.executable, "-c", PYTHON, "on", TEXT],
        "Python, transformers (baseline)": [sys.executable, "-c", PYTHON, "off", TEXT],
    }
    print(f"cold start, one text, fresh process each time ({os.cpu_count()} CPUs)")
    timings = {}
    for name, command in sides.items():
        timings[name] = timed(lambda command=command: _run(command), args.repeats)
        label = f"   -> {timings[name].result}" if name.startswith("Python") else ""
        print(f"  {name:38s} {timings[name].spread()}{label}")
    on, off = timings["Python, BERT reader on"], timings["Python, transformers (baseline)"]
    print(f"reader vs transformers: {speedup(off, on)} faster")
    if on.result != off.result:
        raise SystemExit(f"the two sides disagree: {on.result!r} vs {off.result!r}")


if __name__ == "__main__":
    main()
