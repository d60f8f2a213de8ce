#!/usr/bin/env bash
# One GPU session's work (issue 9 MELD search, issue 10 engine runs), run from the repo root on the
# device machine after tools/device/prepare.sh here: run(command="bash .gpu/job.sh", carry=[".gpu"]).
# Results come back through $OUT as they finish (results.tgz is refreshed every 20 s).
set -u
T0=$(date +%s)
DEADLINE=${DEADLINE:-540}          # seconds after start: everything still running is stopped
DATA_TAR=${DATA_TAR:-.gpu/data.tar.xz}
MINILM=${MINILM:-$PWD/.gpu/minilm}
W_MELD=${W_MELD:-9}
OUT=${OUT:-/tmp/out}
mkdir -p "$OUT" /tmp/site /tmp/data
WORK=${WORK:-/tmp/work}; rm -rf "$WORK"; mkdir -p "$WORK/logs"
[ -n "${SMOKE:-}" ] || python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .gpu/whl/*.whl \
  || { echo "wheel install failed"; exit 1; }
export PYTHONPATH=$PWD/src:/tmp/site:$PWD/.gpu/shim AFFECTLAB_GPU_MINILM=$MINILM
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 PYTHONUNBUFFERED=1 OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 TOKENIZERS_PARALLELISM=false
tar -C /tmp/data -xJf "$DATA_TAR"
AL="python3 -m affectlab.cli"
elapsed() { echo $(( $(date +%s) - T0 )); }
(nvidia-smi -L; python3 -c "import torch, transformers, peft, pydantic; print('torch', torch.__version__, 'transformers', transformers.__version__, 'peft', peft.__version__, 'pydantic', pydantic.__version__, 'cuda', torch.cuda.is_available())") 2>&1 | tee "$WORK/logs/env.txt"

pack() {  # the reports of every run (no weights, checkpoints, arrays or plots) + logs
  (cd "$WORK" && tar czf "$OUT/results.tgz.tmp" --exclude='*.safetensors' --exclude='*.pt' --exclude='checkpoint*' \
     --exclude='*.npy' --exclude='*.npz' --exclude='*.png' --exclude='mlflow*' logs grids runs 2>/dev/null; \
   mv -f "$OUT/results.tgz.tmp" "$OUT/results.tgz")
}
( while sleep 20; do pack; done ) & PACKER=$!

if [ -z "${SMOKE:-}" ]; then  # GPU training throughput, alone on the machine
  timeout 120 python3 benchmarks/finetune.py --data-root /tmp/data --device cuda --steps 20 --repeats 3 \
    > "$WORK/logs/bench_finetune_cuda.txt" 2>&1
  cat "$WORK/logs/bench_finetune_cuda.txt"
fi
echo "[$(elapsed) s] launching runs"
G=$WORK/grids; R=$WORK/runs
pids=()
launch() { local log=$1; shift; ("$@" > "$WORK/logs/$log.txt" 2>&1; echo "exit $?" >> "$WORK/logs/$log.txt") & pids+=($!); }
launch meld_gpu       $AL grid configs/grids/meld_finetune_gpu.yaml --workers "$W_MELD" --out "$G/meld" --data-root /tmp/data --no-tracking
launch engine_seeds   $AL grid configs/grids/engine_seeds.yaml --workers 3 --out "$G/seeds" --data-root /tmp/data --no-tracking
launch engine_noadv   $AL grid configs/grids/engine_adversary.yaml --out "$G/noadv" --data-root /tmp/data --no-tracking
launch engine_nogoemo $AL grid configs/grids/engine_without_goemotions.yaml --out "$G/nogoemo" --data-root /tmp/data --no-tracking
launch engine_nopin   $AL grid configs/grids/engine_pinned.yaml --out "$G/nopin" --data-root /tmp/data --no-tracking
launch engine_bytask  $AL grid configs/grids/engine_by_task.yaml --out "$G/bytask" --data-root /tmp/data --no-tracking
[ -n "${MUSTARD:-}" ] && launch engine_mustard $AL grid configs/grids/engine_mustard_folds.yaml --workers 5 --out "$G/mustard" --data-root /tmp/data --no-tracking
for b in xed goemotions isarcasmeval; do
  launch "base_$b" $AL run "configs/baselines/${b}_lora.yaml" --out "$R" --data-root /tmp/data
done
while [ "$(elapsed)" -lt "$DEADLINE" ]; do
  alive=0; for p in "${pids[@]}"; do kill -0 "$p" 2>/dev/null && alive=1; done
  [ $alive = 0 ] && break
  sleep 5
done
echo "[$(elapsed) s] stopping (deadline $DEADLINE s)"
pkill -f "affectlab.cli" 2>/dev/null; sleep 2; pkill -9 -f "affectlab.cli" 2>/dev/null
pkill -9 -f "multiprocessing.spawn" 2>/dev/null
kill $PACKER 2>/dev/null
pack
# the engine pipelines (LoRA adapters + heads: small) for shipping, probing and zero-shot scoring here
(cd "$WORK" && find grids -path '*engine*' -type d -name pipeline | tar czf "$OUT/engine_pipelines.tgz" -T - 2>/dev/null)
ls -la "$OUT"; grep -h "done\|failed" "$WORK"/logs/*.txt | grep -v "^exit" | cut -c1-220
echo "[$(elapsed) s] end"
