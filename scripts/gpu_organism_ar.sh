#!/usr/bin/env bash
# One device call: retrain tiny-ar with the shared tokenizer (default recipe), evaluate it on the GPU, then the
# kit's CUDA check (bf16) on the new tiny-ar and the shipped tiny-dlm. $OUT gets ar.log, ar.tgz, cuda.log.
set -u
# paths come from the environment: OUT (required: what the call keeps), W (work folder; default a new temp dir)
export PYTHONUNBUFFERED=1 TOKENIZERS_PARALLELISM=true
OUT=${OUT:?set OUT to the folder that keeps the results}; W=${W:-$(mktemp -d)}; DEV=${DEV:-cuda}; EVN=${EVN:-200}; EXTRA=${EXTRA:-}
mkdir -p "$OUT" "$W"
nvidia-smi -L || true
( python3 -m sri_kit.organism.train --only ar --device $DEV --out "$W" $EXTRA \
  && python3 -m sri_kit.organism.evaluate --only ar --models "$W" --n $EVN --n-attack $EVN --seeds 0 --no-external \
       --device $DEV --samplers greedy t0.7 ) > "$OUT/ar.log" 2>&1
[ -d "$W/tiny-ar" ] && (cd "$W" && tar czf "$OUT/ar.tgz" tiny-ar)
timeout 150 python3 benchmarks/cuda_check.py --require-cuda --model-ar "$W/tiny-ar" --model-dlm sri_kit/_data/models/tiny-dlm \
  --json "$W/cuda.json" > "$OUT/cuda.log" 2>&1
echo "cuda_check rc=$?" >> "$OUT/cuda.log"; cat "$W/cuda.json" >> "$OUT/cuda.log" 2>/dev/null
grep -E "after base|selected|\[val\]" "$OUT/ar.log" | tail -10; grep -v Loading "$OUT/ar.log" | grep "seed0"; grep -v Loading "$OUT/cuda.log"
