"""Recording the golden parity fixtures: the upstream code on the tiny seeded models.

:func:`record` runs, for each case of :data:`CASES`, the upstream model (logits at chosen positions)
or the upstream sampler (final tokens and the response canvas after every step, i.e. the commit order)
and returns one fixture per family; :func:`write_fixtures` writes them as JSON. The kit side of each
case is :func:`sri_kit.parity.replay.run_case`, which reads nothing but the fixture.

Random draws: the kit draws every random number of a row from the row's own generator
(:func:`sri_kit.sampling.common.row_seed`), upstream LLaDA from the global RNG over the whole canvas.
For LLaDA's random remasking and Gumbel sampling the recorder hands upstream's ``torch.rand`` /
``torch.rand_like`` the row's draws in the kit's order (response positions; prompt columns get 0.5,
which upstream never reads), so a fixture pins the selection rule given the draws. Dream draws from the
global RNG in exactly the kit's order when it is seeded with the row's seed (a batch of one); the
recorder seeds it so.
"""
from __future__ import annotations

import contextlib
import io
import json
import platform
from contextlib import contextmanager
from pathlib import Path

import torch

from ..config import GenerationConfig
from ..errors import ConfigError
from ..io import atomic_write_text
from ..sampling.common import row_seed
from .models import MASK_ID, PAD_ID, PROMPTS, VOCAB, build_kit_model, dream_values, llada_values, weights_digest
from .upstream import build_upstream_model, load_upstream

__all__ = ["CASES", "MODELS", "record", "write_fixtures", "FORMAT"]

FORMAT = 1

#: name -> (kind, config.json values, weight seed)
MODELS = {
    "llada": ("llada", llada_values(), 11),
    "llada-tied-gqa1": ("llada", llada_values(weight_tying=True, embedding_size=136, n_kv_heads=4), 12),
    "llada-bias-scaled": ("llada", llada_values(include_qkv_bias=True, input_emb_norm=True, scale_logits=True), 13),
    "dream": ("dream", dream_values(), 21),
    "dream-tied-mqa": ("dream", dream_values(tie_word_embeddings=True, num_key_value_heads=1), 22),
}


def _gc(**kw) -> dict:
    return GenerationConfig(**kw).to_dict()


def _dream(alg, steps=8, gen_length=16, **kw) -> dict:
    opts = {"alg": alg}
    for k in ("alg_temp", "eps"):
        if k in kw:
            opts[k] = kw.pop(k)
    return _gc(steps=steps, gen_length=gen_length, sampler="dream", options=opts, **kw)


#: family -> list of case specs. ``batched``: the rows run as one left-padded batch (else each row alone).
CASES = {
    "llada": [
        dict(name="logits", type="logits", models=["llada", "llada-tied-gqa1", "llada-bias-scaled"]),
        dict(name="low_confidence-one_block", type="llada_generate", model="llada", config=_gc(steps=8, gen_length=8)),
        dict(name="low_confidence-blocks", type="llada_generate", model="llada",
             config=_gc(steps=8, gen_length=16, block_length=4)),
        dict(name="random", type="llada_generate", model="llada",
             config=_gc(steps=8, gen_length=8, remasking="random", seed=1)),
        dict(name="random-blocks", type="llada_generate", model="llada",
             config=_gc(steps=8, gen_length=16, block_length=8, remasking="random", seed=2)),
        dict(name="cfg", type="llada_generate", model="llada", config=_gc(steps=8, gen_length=8, cfg_scale=1.5)),
        dict(name="gumbel-blocks", type="llada_generate", model="llada",
             config=_gc(steps=8, gen_length=8, block_length=4, temperature=0.8, seed=3)),
        dict(name="tied-low_confidence", type="llada_generate", model="llada-tied-gqa1",
             config=_gc(steps=4, gen_length=8)),
    ],
    "dream": [
        dict(name="logits", type="logits", models=["dream", "dream-tied-mqa"]),
        *[dict(name=f"{alg}-alone", type="dream_generate", model="dream", config=_dream(alg), batched=False)
          for alg in ("origin", "maskgit_plus", "topk_margin", "entropy")],
        *[dict(name=f"{alg}-batched", type="dream_generate", model="dream", config=_dream(alg), batched=True)
          for alg in ("maskgit_plus", "topk_margin", "entropy")],
        dict(name="maskgit_plus-top_p", type="dream_generate", model="dream", config=_dream("maskgit_plus", top_p=0.5),
             batched=True),
        dict(name="topk_margin-top_k-top_p", type="dream_generate", model="dream",
             config=_dream("topk_margin", top_p=0.6, top_k=4), batched=True),
        dict(name="entropy-eps-steps", type="dream_generate", model="dream",
             config=_dream("entropy", steps=5, gen_length=12, eps=0.05), batched=True),
        dict(name="entropy-temperature", type="dream_generate", model="dream",
             config=_dream("entropy", temperature=0.8, seed=3), batched=False),
        dict(name="origin-temperature", type="dream_generate", model="dream",
             config=_dream("origin", temperature=0.7, seed=5), batched=False),
        dict(name="topk_margin-alg_temp", type="dream_generate", model="dream",
             config=_dream("topk_margin", alg_temp=0.5, seed=6), batched=False),
        dict(name="entropy-top_k", type="dream_generate", model="dream", config=_dream("entropy", top_k=5),
             batched=False),
        dict(name="maskgit_plus-steps_eq_length", type="dream_generate", model="dream",
             config=_dream("maskgit_plus", steps=12, gen_length=12), batched=False),
        dict(name="topk_margin-more_steps_than_tokens", type="dream_generate", model="dream",
             config=_dream("topk_margin", steps=20, gen_length=12, eps=0.0), batched=True),
        dict(name="maskgit_plus-sampled-filters", type="dream_generate", model="dream",
             config=_dream("maskgit_plus", temperature=1.0, top_p=0.9, top_k=50, seed=4), batched=False),
        dict(name="entropy-temperature-alg_temp", type="dream_generate", model="dream",
             config=_dream("entropy", temperature=0.5, alg_temp=0.2, seed=7), batched=False),
        *[dict(name=f"{alg}-masks_in_prompt", type="dream_generate", model="dream", config=_dream(alg),
               batched=False, rows=[[1, 17, MASK_ID, 40, 93, MASK_ID, 3]]) for alg in ("entropy", "origin")],
        dict(name="tied-entropy", type="dream_generate", model="dream-tied-mqa", config=_dream("entropy", steps=4,
                                                                                              gen_length=8),
             batched=True),
    ],
    "fastdllm": [
        dict(name="threshold", type="fastdllm", fn="generate", model="llada",
             config=_gc(steps=16, gen_length=16, block_length=8, sampler="threshold", options={"threshold": 0.12}),
             threshold=0.12),
        dict(name="threshold-one_block", type="fastdllm", fn="generate", model="llada",
             config=_gc(steps=16, gen_length=16, sampler="threshold", options={"threshold": 0.14}), threshold=0.14),
        dict(name="prefix_cache", type="fastdllm", fn="generate_with_prefix_cache", model="llada",
             config=_gc(steps=8, gen_length=16, block_length=8, sampler="prefix_cache"), threshold=None),
        dict(name="prefix_cache-threshold", type="fastdllm", fn="generate_with_prefix_cache", model="llada",
             config=_gc(steps=16, gen_length=16, block_length=8, sampler="prefix_cache", options={"threshold": 0.12}),
             threshold=0.12),
        dict(name="dual_cache", type="fastdllm", fn="generate_with_dual_cache", model="llada",
             config=_gc(steps=8, gen_length=16, block_length=4, sampler="dual_cache"), threshold=None),
        dict(name="dual_cache-threshold", type="fastdllm", fn="generate_with_dual_cache", model="llada",
             config=_gc(steps=16, gen_length=16, block_length=8, sampler="dual_cache", options={"threshold": 0.12}),
             threshold=0.12),
    ],
}

#: family -> (the upstream repository whose sampling code the cases run, its files)
SOURCES = {
    "llada": {"modelling": ("NVlabs/Fast-dLLM", ["llada/model/modeling_llada.py", "llada/model/configuration_llada.py"]),
              "sampling": ("ML-GSAI/LLaDA", ["generate.py"])},
    "dream": {"modelling": ("NVlabs/Fast-dLLM", ["dream/model/modeling_dream.py", "dream/model/configuration_dream.py"]),
              "sampling": ("NVlabs/Fast-dLLM", ["dream/model/generation_utils.py"])},
    "fastdllm": {"modelling": ("NVlabs/Fast-dLLM", ["llada/model/modeling_llada.py"]),
                 "sampling": ("NVlabs/Fast-dLLM", ["llada/generate.py"])},
}

LOGIT_INPUT_SEED, LOGIT_SHAPE, LOGIT_POSITIONS = 7, (2, 12), [0, 5, 11]


def logit_inputs() -> torch.Tensor:
    g = torch.Generator().manual_seed(LOGIT_INPUT_SEED)
    return torch.randint(5, VOCAB, LOGIT_SHAPE, generator=g)


def _canvases_from_inputs(inputs: list[torch.Tensor], final: torch.Tensor, P: int) -> list[list[int]]:
    """The response canvas after each step: the input of the next forward pass, and the final canvas."""
    return [x[0, P:].tolist() for x in inputs[1:]] + [final[0, P:].tolist()]


class _Recorder(torch.nn.Module):
    """Forwards to ``model`` and keeps the (conditional half of the) canvas each call sees."""

    def __init__(self, model, rows: int = 1):
        super().__init__()
        self.inner, self.rows, self.seen = model, rows, []

    @property
    def device(self):
        return torch.device("cpu")

    def forward(self, x, *args, **kw):
        self.seen.append(x[: self.rows].clone())
        return self.inner(x, *args, **kw)


@contextmanager
def _kit_draws(cfg: GenerationConfig, row: list[int], P: int, L: int):
    """Upstream LLaDA's ``torch.rand`` / ``torch.rand_like`` return the kit's per-row draws (see module doc)."""
    if not (cfg.temperature > 0 or cfg.remasking == "random"):
        yield
        return
    g = torch.Generator().manual_seed(row_seed(cfg.seed, row))
    rand, rand_like = torch.rand, torch.rand_like

    def fake_rand(*size, **kw):
        shape = tuple(size[0]) if len(size) == 1 and isinstance(size[0], (tuple, list, torch.Size)) else size
        if len(shape) != 2 or shape[1] != P + L:
            raise ConfigError(f"unexpected torch.rand{shape} in upstream LLaDA")
        out = torch.full(shape, 0.5, dtype=torch.float64)
        out[0, P:] = rand((L,), generator=g, dtype=torch.float64)
        return out

    def fake_rand_like(t, dtype=None, **kw):
        if t.dim() != 3 or t.shape[1] != P + L:
            raise ConfigError(f"unexpected torch.rand_like{tuple(t.shape)} in upstream LLaDA")
        out = torch.full(t.shape, 0.5, dtype=torch.float64)
        out[0, P:] = rand((L, t.shape[-1]), generator=g, dtype=torch.float64)
        return out

    torch.rand, torch.rand_like = fake_rand, fake_rand_like
    try:
        yield
    finally:
        torch.rand, torch.rand_like = rand, rand_like


def _llada_generate(up, model, case) -> dict:
    cfg = GenerationConfig.from_dict(case["config"])
    L = cfg.gen_length
    tokens, canvases = [], []
    for row in PROMPTS:
        P = len(row)
        rec = _Recorder(model)
        prompt = torch.tensor([row])
        with _kit_draws(cfg, row, P, L):
            out = up.generate.generate(rec, prompt, attention_mask=torch.ones_like(prompt), steps=cfg.steps,
                                       gen_length=L, block_length=cfg.block_len, temperature=cfg.temperature,
                                       cfg_scale=cfg.cfg_scale, remasking=cfg.remasking, mask_id=MASK_ID)
        tokens.append(out[0, P:].tolist())
        canvases.append(_canvases_from_inputs(rec.seen, out, P))
    return dict(rows=PROMPTS, batched=False, tokens=tokens, canvases=canvases)


def _dream_generate(up, model, case) -> dict:
    cfg = GenerationConfig.from_dict(case["config"])
    opts = dict(cfg.options)
    gu = up.dream_generation

    class Config(gu.DreamGenerationConfig):
        def validate(self, *args, **kwargs):        # transformers 5 calls it with arguments Dream's lacks
            pass

    class Wrapped(gu.DreamGenerationMixin):
        """Upstream's sampler bound to the upstream model, which it calls as upstream's DreamModel does."""

        def __init__(self):
            self.config = model.config
            self.generation_config = Config(mask_token_id=MASK_ID, pad_token_id=PAD_ID)

        @property
        def device(self):
            return torch.device("cpu")

        def __call__(self, x, attention_mask, tok_idx):
            return model(x, attention_mask, tok_idx)

    def run(rows):
        B, P = len(rows), max(map(len, rows))
        ids = torch.full((B, P), PAD_ID, dtype=torch.long)
        attn = torch.zeros((B, P), dtype=torch.long)
        for i, r in enumerate(rows):
            ids[i, P - len(r):] = torch.tensor(r)
            attn[i, P - len(r):] = 1
        gc = Config(max_new_tokens=cfg.gen_length, steps=cfg.steps, alg=opts.get("alg", "entropy"),
                    alg_temp=opts.get("alg_temp"), eps=opts.get("eps", 1e-3), temperature=cfg.temperature,
                    top_p=cfg.top_p if cfg.top_p < 1 else None, top_k=cfg.top_k or None, mask_token_id=MASK_ID,
                    pad_token_id=PAD_ID, output_history=True, return_dict_in_generate=True)
        if len(rows) == 1:
            torch.manual_seed(row_seed(cfg.seed, rows[0]))
        out = Wrapped().diffusion_generate(ids, generation_config=gc, attention_mask=attn)
        filled = [out.sequences[i, P - len(r):P].tolist() for i, r in enumerate(rows)]
        return out.sequences[:, P:], torch.stack([h[:, P:] for h in out.history]), filled   # [B, L], [T, B, L]

    rows = case.get("rows", PROMPTS)
    if case.get("batched"):
        seq, hist, filled = run(rows)
        tokens, canvases = seq.tolist(), hist.transpose(0, 1).tolist()
        # upstream unmasks int(mean masked count over the batch · (1 − s/t)) per row, so its batch equals its
        # rows alone only while every row has as many masks (a row whose x̂0 is the mask token breaks that);
        # the kit counts each row's own masks. A batched case must not depend on that difference.
        alone = [run([r])[0][0].tolist() for r in rows]
        if alone != tokens:
            raise ConfigError(f"dream case {case['name']!r}: upstream's batch differs from its rows alone (the rows' "
                              "masked counts diverge); record it unbatched or pick another config")
    else:
        tokens, canvases, filled = [], [], []
        for row in rows:
            seq, hist, f = run([row])
            tokens.append(seq[0].tolist())
            canvases.append(hist[:, 0].tolist())
            filled += f
    res = dict(rows=rows, batched=bool(case.get("batched")), tokens=tokens, canvases=canvases)
    if any(MASK_ID in r for r in rows):         # Dream fills mask tokens inside the prompt too
        res["filled_prompt"] = filled
    return res


def _fastdllm(up, model, case) -> dict:
    cfg = GenerationConfig.from_dict(case["config"])
    L, bl = cfg.gen_length, cfg.block_len
    fast = up.fastdllm
    tokens, canvases, nfes = [], [], []
    for row in PROMPTS:
        P = len(row)
        calls = []
        orig = fast.get_transfer_index

        def spy(logits, temperature, remasking, mask_index, x, num, threshold=None):
            x0, ti = orig(logits, temperature, remasking, mask_index, x, num, threshold)
            calls.append((x.shape[1], ti[0].nonzero()[:, 0].tolist(), x0[0][ti[0]].tolist()))
            return x0, ti

        fast.get_transfer_index = spy
        try:
            out, nfe = getattr(fast, case["fn"])(model, torch.tensor([row]), steps=cfg.steps, gen_length=L,
                                                 block_length=bl, temperature=0.0, remasking="low_confidence",
                                                 mask_id=MASK_ID, threshold=case["threshold"])
        finally:
            fast.get_transfer_index = orig
        canvas, steps, n_full = [MASK_ID] * L, [], 0
        for width, pos, vals in calls:           # a full-width call opens a block; narrower ones are cached steps
            if width == P + L:
                n_full += 1
                off = 0
            else:
                off = P + (n_full - 1) * bl
            for p, v in zip(pos, vals):
                if p + off >= P:
                    canvas[p + off - P] = v
            steps.append(list(canvas))
        if steps[-1] != out[0, P:].tolist():
            raise ConfigError(f"{case['name']}: the per-step commits do not rebuild upstream's final canvas")
        tokens.append(out[0, P:].tolist())
        canvases.append(steps)
        nfes.append(int(nfe))
    return dict(rows=PROMPTS, batched=False, tokens=tokens, canvases=canvases, n_forward=nfes)


def _logits(models, case) -> dict:
    x = logit_inputs()
    out = {}
    with torch.no_grad():
        for name in case["models"]:
            logits = models[name](x).logits[:, LOGIT_POSITIONS]
            out[name] = logits.tolist()
    return dict(input_ids=x.tolist(), positions=LOGIT_POSITIONS, logits=out)


def record(upstream_dir, families=("llada", "dream", "fastdllm")) -> dict[str, dict]:
    """{family: fixture} from the upstream code in ``upstream_dir`` (see :mod:`sri_kit.parity.upstream`)."""
    import transformers

    from .. import __version__

    up = load_upstream(upstream_dir)
    torch.manual_seed(0)
    used = {m for f in families for c in CASES[f] for m in c.get("models", [c.get("model")])}
    models, meta = {}, {}
    for name in sorted(used):
        kind, values, seed = MODELS[name]
        models[name] = build_upstream_model(up, kind, values, seed)
        kit = build_kit_model(kind, values, seed)
        if kind == "llada":     # the upstream weights are the kit's, name for name
            up_state = {"model." + k: p for k, p in models[name].model.named_parameters()}
        else:
            up_state = dict(models[name].named_parameters())
        if weights_digest(up_state) != weights_digest(kit):
            raise ConfigError(f"{name}: the upstream model's weights differ from the kit model's")
        meta[name] = dict(kind=kind, config=values, seed=seed, digest=weights_digest(kit))
    fixtures = {}
    for fam in families:
        cases = []
        for case in CASES[fam]:
            if case["type"] == "logits":
                res = _logits(models, case)
            else:
                fn = {"llada_generate": _llada_generate, "dream_generate": _dream_generate,
                      "fastdllm": _fastdllm}[case["type"]]
                with contextlib.redirect_stdout(io.StringIO()):     # Dream prints its timings
                    res = fn(up, models[case["model"]], case)
            cases.append({**case, **res})
        src = {role: dict(repository=repo, commit=up.commits.get(repo, "unknown"), files=files)
               for role, (repo, files) in SOURCES[fam].items()}
        names = sorted({m for c in CASES[fam] for m in c.get("models", [c.get("model")])})
        fixtures[fam] = dict(format=FORMAT, family=fam, upstream=src,
                             recorded_with=dict(torch=torch.__version__, transformers=transformers.__version__,
                                                sri_kit=__version__, python=platform.python_version()),
                             models={n: meta[n] for n in names}, cases=cases)
    return fixtures


def write_fixtures(fixtures: dict[str, dict], out) -> list[Path]:
    """Write each fixture as ``out/<family>.json`` (atomically); returns the paths."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    for fam, fx in fixtures.items():
        p = out / f"{fam}.json"
        atomic_write_text(p, json.dumps(fx, indent=1, sort_keys=False) + "\n")
        paths.append(p)
    return paths


def load_fixture(path) -> dict:
    p = Path(path)
    fx = json.loads(p.read_text(encoding="utf-8"))
    if fx.get("format") != FORMAT:
        raise ConfigError(f"{p}: fixture format {fx.get('format')!r}, this kit reads {FORMAT}; record it again with "
                          "`sri-kit parity record`")
    return fx


