#!/usr/bin/env bash
# One device call (lent H100): CUDA check of the kit, then the tiny-dlm recipe with a longer base stage and three
# safety-stage variants from the same base, each evaluated on the GPU. Everything the call keeps lands in $OUT
# (at most 8 files): cuda.log, A.log, B.log, C.log, base.tgz, A.tgz, B.tgz, C.tgz.
set -u
# paths come from the environment: OUT (required: what the call keeps), W (work folder; default a new temp dir)
export PYTHONUNBUFFERED=1 TOKENIZERS_PARALLELISM=true
OUT=${OUT:?set OUT to the folder that keeps the results}; W=${W:-$(mktemp -d)}; DEV=${DEV:-cuda}; BASE_STEPS=${BASE_STEPS:-5000}; EVN=${EVN:-200}; EXTRA=${EXTRA:-}
mkdir -p "$OUT" "$W"
nvidia-smi -L || true
timeout 100 python3 benchmarks/cuda_check.py --require-cuda --json "$W/cuda.json" > "$OUT/cuda.log" 2>&1 &
T="python3 -m sri_kit.organism.train --only dlm --device $DEV --n-val 64 --eval-every 50 $EXTRA"
EV="python3 -m sri_kit.organism.evaluate --only dlm --n $EVN --n-attack $EVN --seeds 0 --no-external --device $DEV --samplers diffusion left_to_right"
( $T --dlm-base-steps $BASE_STEPS --dlm-base-batch 256 --save-base "$W/base/tiny-dlm" --replay-uncovered 0.10 --out "$W/A" \
  && $EV --models "$W/A" ) > "$OUT/A.log" 2>&1 &
APID=$!
until [ -f "$W/base/tiny-dlm/training_log.json" ] || ! kill -0 $APID 2>/dev/null; do sleep 2; done
[ -f "$W/base/tiny-dlm/training_log.json" ] || { echo "base stage failed"; tail -30 "$OUT/A.log"; exit 1; }
(cd "$W/base" && tar czf "$OUT/base.tgz" tiny-dlm)
( $T --init-from "$W/base/tiny-dlm" --replay-uncovered 0.17 --out "$W/B" && $EV --models "$W/B" ) > "$OUT/B.log" 2>&1 &
( $T --init-from "$W/base/tiny-dlm" --replay-uncovered 0.10 --dlm-safety-lr 3e-4 --out "$W/C" && $EV --models "$W/C" ) > "$OUT/C.log" 2>&1 &
wait
for v in A B C; do [ -d "$W/$v/tiny-dlm" ] && (cd "$W/$v" && tar czf "$OUT/$v.tgz" tiny-dlm); done
cat "$W/cuda.json" >> "$OUT/cuda.log" 2>/dev/null
ls -la "$OUT"; tail -5 "$OUT/cuda.log"; for v in A B C; do echo "== $v"; grep -E "after base|selected|\[val\]" "$OUT/$v.log" | tail -12; done
