#!/usr/bin/env python
"""Check the CUDA path: bf16 models on a GPU through ``sri_kit.generate``.

    python benchmarks/cuda_check.py [--n 256] [--batch 32] [--model-ar PATH] [--model-dlm PATH] [--json PATH]

For each family (AR and diffusion) it loads the model (the organism ``tiny-ar`` / ``tiny-dlm`` or the
paths given; random models of the organism's size when absent) on ``cuda`` in bfloat16 and checks that

* the traces are finite (activations and confidences);
* activations come back as float32 NumPy arrays on the CPU;
* greedy tokens mostly agree with a float32 CPU run of the same prompts (bf16 rounding flips some
  near-ties, after which a sequence may diverge; with random weights almost everything is a near-tie,
  so agreement is then reported but not required);

and prints timings: traces/s of ``sri_kit.generate`` (batch ``--batch``), of the reference-style
implementation (``benchmarks/reference.py``, one prompt at a time) on the GPU, and the speedup; plus the
diffusion hook overhead on the GPU. Without a CUDA device it prints a clear message and exits 0
(``--require-cuda`` makes that exit 1).
"""
from __future__ import annotations

import argparse
import copy
import json
import statistics
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def _sibling(name: str):
    """A neighbour module of benchmarks/ (not a package), loaded by path: nothing edits sys.path."""
    if name in sys.modules:
        return sys.modules[name]
    import importlib.util
    spec = importlib.util.spec_from_file_location(name, HERE / f"{name}.py")
    mod = importlib.util.module_from_spec(spec)
    sys.modules[name] = mod
    spec.loader.exec_module(mod)
    return mod

import numpy as np  # noqa: E402
import torch  # noqa: E402

import sri_kit as sk  # noqa: E402


def _sync():
    torch.cuda.synchronize()


def timed(fn):
    _sync()
    t0 = time.perf_counter()
    out = fn()
    _sync()
    return time.perf_counter() - t0, out


def load_pair(name: str | None, family: str, log):
    """(cpu fp32 LoadedModel, cuda bf16 LoadedModel, is_organism)."""
    bench = _sibling("run")
    preset = name or ("tiny-ar" if family == "ar" else "tiny-dlm")
    try:
        cpu = sk.load_model(preset, device="cpu", dtype="float32")
        gpu = sk.load_model(preset, device="cuda", dtype="bfloat16")
        return cpu, gpu, True
    except (FileNotFoundError, OSError, ValueError) as e:
        log(f"NOTE: {preset} not available ({e.__class__.__name__}); using a RANDOM model of the organism's size")
    ar, dlm = bench.random_models("organism")
    cpu = ar if family == "ar" else dlm
    model = copy.deepcopy(cpu.model).to(device="cuda", dtype=torch.bfloat16)
    gpu = sk.wrap_model(model, cpu.tokenizer, family=family, name=cpu.name + "-cuda-bf16",
                        hook_site=cpu.hook_site, default_config=cpu.default_config)
    return cpu, gpu, False


def tokens(traces) -> np.ndarray:
    return np.stack([t.predicted[-1] for t in traces])


def check_family(family: str, name: str | None, args, log) -> dict:
    reference = _sibling("reference")
    bench = _sibling("run")
    cpu, gpu, organism = load_pair(name, family, log)
    if family == "ar":
        cfg = gpu.default_config if organism else sk.GenerationConfig(steps=32)
    else:
        cfg = gpu.default_config if organism else sk.GenerationConfig(steps=32, gen_length=64, block_length=32)
    ps = bench.prompts(args.n, "organism")
    res = {"model": gpu.name, "organism": organism, "dtype": str(next(gpu.model.parameters()).dtype),
           "config": cfg.to_dict()}
    sk.generate(gpu, ps[:args.batch], cfg, batch_size=args.batch, progress=False)      # warm-up
    t_gen, traces = timed(lambda: sk.generate(gpu, ps, cfg, batch_size=args.batch, progress=False))
    acts = [t.activations for t in traces]
    res["activations_float32_numpy"] = all(isinstance(a, np.ndarray) and a.dtype == np.float32 for a in acts)
    res["finite"] = bool(all(np.isfinite(a).all() for a in acts) and all(np.isfinite(t.confidence).all() for t in traces))
    n_cmp = min(args.n_compare, len(ps))
    ref_cpu = sk.generate(cpu, ps[:n_cmp], cfg, batch_size=args.batch, progress=False)
    a, b = tokens(traces[:n_cmp]), tokens(ref_cpu)
    res["token_agreement_vs_fp32_cpu"] = float((a == b).mean())
    res["first_token_agreement"] = float((a[:, 0] == b[:, 0]).mean()) if family == "ar" else None
    res["same_text_fraction"] = float(np.mean([x.text == y.text for x, y in zip(traces, ref_cpu)]))
    # speed vs the reference-style implementation on the same GPU
    if family == "ar":
        run_ref = lambda p: reference.reference_ar(gpu, p, steps=cfg.steps, system_prompt=cfg.system_prompt)  # noqa: E731
    else:
        run_ref = lambda p: reference.reference_diffusion(gpu, p, steps=cfg.steps, gen_length=cfg.gen_length,  # noqa: E731
                                                          block_length=cfg.block_length, system_prompt=cfg.system_prompt)
    run_ref(ps[0])
    n_ref = min(args.n_ref, len(ps))
    t_ref, _ = timed(lambda: [run_ref(p) for p in ps[:n_ref]])
    res.update({"n_traces": len(ps), "batch": args.batch, "generate_s": t_gen, "kit_traces_per_s": len(ps) / t_gen,
                "n_reference": n_ref, "reference_traces_per_s": n_ref / t_ref,
                "speedup_vs_reference": (len(ps) / t_gen) / (n_ref / t_ref)})
    if family == "diffusion":      # hook overhead on the GPU, as run.py measures it on the CPU
        from sri_kit.sampling import diffusion as dm
        rows = gpu.encode_chat(ps[:args.batch], system_prompt=cfg.system_prompt)
        hooked = lambda: dm.MaskedDiffusionSampler().run(gpu, rows, cfg)  # noqa: E731

        def unhooked():
            with bench.hooks_disabled(dm, len(rows), gpu.model.config.hidden_size):
                return dm.MaskedDiffusionSampler().run(gpu, rows, cfg)
        hooked(), unhooked()
        th, tu = [], []
        for _ in range(5):
            th.append(timed(hooked)[0])
            tu.append(timed(unhooked)[0])
        res["hook_overhead_ratio"] = statistics.median(th) / statistics.median(tu)
    ok = res["finite"] and res["activations_float32_numpy"] and (
        not organism or res["token_agreement_vs_fp32_cpu"] >= args.min_agreement)
    res["ok"] = bool(ok)
    log(f"[{family}] {gpu.name} bf16: finite={res['finite']} float32-on-CPU={res['activations_float32_numpy']} "
        f"token agreement vs fp32 CPU={res['token_agreement_vs_fp32_cpu']:.3f} (same text {res['same_text_fraction']:.2f}) | "
        f"kit {res['kit_traces_per_s']:.1f} traces/s, reference {res['reference_traces_per_s']:.2f} traces/s, "
        f"speedup {res['speedup_vs_reference']:.1f}x" +
        (f", hook overhead {res['hook_overhead_ratio']:.3f}" if "hook_overhead_ratio" in res else "") +
        ("" if organism else "  [random weights: agreement not required]"))
    return res


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=256, help="traces per family for the timing")
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--n-ref", type=int, default=32, help="prompts for the reference-style timing")
    ap.add_argument("--n-compare", type=int, default=64, help="prompts compared with the float32 CPU run")
    ap.add_argument("--min-agreement", type=float, default=0.8,
                    help="token agreement with float32 CPU required for trained weights")
    ap.add_argument("--model-ar")
    ap.add_argument("--model-dlm")
    ap.add_argument("--json", help="write the results here")
    ap.add_argument("--require-cuda", action="store_true", help="exit 1 (not 0) when there is no CUDA device")
    args = ap.parse_args(argv)
    if not torch.cuda.is_available():
        print("cuda_check: no CUDA device is visible to torch (torch.cuda.is_available() is False; torch "
              f"{torch.__version__}). Nothing was checked. Run this on a machine with an NVIDIA GPU and a CUDA "
              "build of torch.")
        return 1 if args.require_cuda else 0
    log = lambda m: print(m, flush=True)  # noqa: E731
    torch.backends.cuda.matmul.allow_tf32 = False
    out = {"device": torch.cuda.get_device_name(0), "torch": torch.__version__,
           "ar": check_family("ar", args.model_ar, args, log),
           "diffusion": check_family("diffusion", args.model_dlm, args, log)}
    out["ok"] = out["ar"]["ok"] and out["diffusion"]["ok"]
    print(f"device: {out['device']}, torch {out['torch']}: {'OK' if out['ok'] else 'FAILED'}")
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=2) + "\n")
    return 0 if out["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
