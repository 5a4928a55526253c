"""Tests for sri_kit.detectors: SRI Guard, one-class detectors, baselines and the evaluation protocol.

All offline and fast: synthetic σ vectors and tiny random-init (or briefly trained) models built
from configs in code. The organism-based evaluation lives elsewhere.
"""

from __future__ import annotations

import inspect
import json
import time
import warnings
import numpy as np
import pytest
import torch

import sri_kit as sk
from sri_kit.detectors import (
    GuardClassifier,
    IsolationForestDetector,
    KeywordRefusalJudge,
    MahalanobisDetector,
    OneClassSVMDetector,
    PerplexityFilter,
    SelfExamine,
    SRIGuard,
    SupervisedUpperBound,
    blocking_table,
    defense_summary,
    detection_metrics,
    detection_table,
    measure_overhead,
    overhead_figure,
    roc_figure,
)
from sri_kit.detectors.baselines import parse_safe_unsafe, parse_yes_no
from sri_kit.detectors.evaluate import ALL_JAILBREAKS, tpr_at_fpr

T = 32


@pytest.fixture(scope="module", autouse=True)
def _one_thread():
    """Tiny models run fastest single-threaded; on a shared CPU, extra threads only contend."""
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


# ----------------------------------------------------------------------------------------------
# synthetic σ vectors
# ----------------------------------------------------------------------------------------------
def benign_signals(n: int, t: int = T, seed: int = 0) -> np.ndarray:
    """Smooth benign σ: half flat near 0.9–1.0 with small noise, half a smooth rise to ~0.97."""
    rng = np.random.default_rng(seed)
    steps = np.arange(t)
    level = rng.uniform(0.9, 0.98, size=(n, 1))
    flat = level + 0.01 * rng.standard_normal((n, t))
    start = rng.uniform(0.6, 0.8, size=(n, 1))
    centre = rng.uniform(2, 8, size=(n, 1)) * t / 32
    ramp = start + (level - start) / (1 + np.exp(-(steps - centre) / (1.5 * t / 32)))
    ramp = ramp + 0.01 * rng.standard_normal((n, t))
    kind = rng.random((n, 1)) < 0.5
    return np.clip(np.where(kind, flat, ramp), 0.0, 1.0)


def dip_signals(n: int, t: int = T, seed: int = 1) -> np.ndarray:
    """Clearly anomalous: compliant (0.95), a dip to 0.2 mid-generation, back to 0.95."""
    rng = np.random.default_rng(seed)
    x = np.full((n, t), 0.95) + 0.01 * rng.standard_normal((n, t))
    for i in range(n):
        a = rng.integers(t // 4, t // 2)
        x[i, a:a + t // 4] = 0.2 + 0.02 * rng.standard_normal(t // 4)
    return np.clip(x, 0.0, 1.0)


@pytest.fixture(scope="module")
def data():
    X = benign_signals(800, seed=0)
    return {
        "train": X[:600],
        "calib": X[600:],
        "heldout": benign_signals(1000, seed=7),
        "dip": dip_signals(50),
    }


@pytest.fixture(scope="module")
def guard(data):
    return SRIGuard(epochs=80, seed=0).fit(data["train"], data["calib"])


# ----------------------------------------------------------------------------------------------
# SRI Guard
# ----------------------------------------------------------------------------------------------
def test_threshold_is_percentile_of_calibration_errors(guard, data):
    err = -guard.score_samples(data["calib"])
    np.testing.assert_allclose(guard.calib_scores_, err, rtol=0, atol=0)
    assert guard.threshold_ == np.percentile(err, 99.0)
    assert guard.n_calib_ == 200 and guard.n_train_ == 600 and guard.n_features_in_ == T


def test_about_one_percent_of_calibration_flagged(guard, data):
    flagged = np.mean(guard.predict(data["calib"]) == -1)
    assert 0.0 < flagged <= 0.02
    # held-out benign from the same distribution: small false-positive rate too
    assert np.mean(guard.predict(data["heldout"]) == -1) <= 0.03


def test_dips_flagged_smooth_benign_not(guard, data):
    assert np.all(guard.predict(data["dip"]) == -1)
    smooth = np.clip(0.95 + 0.005 * np.sin(np.linspace(0, np.pi, T)), 0, 1)[None]
    flat = np.full((1, T), 0.95)
    assert guard.predict(np.vstack([smooth, flat])).tolist() == [1, 1]
    m = detection_metrics(guard.score_samples(data["heldout"]), guard.score_samples(data["dip"]))
    assert m["auroc"] == 1.0 and m["tpr_at_1fpr"] == 1.0


def test_sklearn_api_consistency(guard, data):
    X = np.vstack([data["heldout"][:20], data["dip"][:5]])
    s, d, p = guard.score_samples(X), guard.decision_function(X), guard.predict(X)
    assert s.shape == d.shape == p.shape == (25,)
    np.testing.assert_allclose(d, guard.threshold_ + s)
    assert set(np.unique(p)) <= {-1, 1}
    assert np.array_equal(p == -1, d < 0)
    assert np.array_equal(guard.flag(X), d < 0)
    # torch tensors and float32 are accepted and give the same scores
    np.testing.assert_allclose(guard.score_samples(torch.tensor(X)), s)
    assert guard.reconstruct(X).shape == X.shape


@pytest.mark.filterwarnings("ignore:Only .* calibration signals")
def test_param_count_and_any_T():
    assert SRIGuard(epochs=1).fit(benign_signals(140)).n_params_ == 2664  # T→32→8→32→T at T=32
    for t in (16, 48):
        g = SRIGuard(epochs=20).fit(benign_signals(300, t=t), benign_signals(100, t=t, seed=3))
        assert g.n_features_in_ == t
        assert g.score_samples(dip_signals(3, t=t)).shape == (3,)
    assert SRIGuard(hidden=(16, 4, 16), epochs=1).layer_sizes(10) == [10, 16, 4, 16, 10]
    assert SRIGuard(hidden=(64, 16), epochs=1).layer_sizes(32) == [32, 64, 16, 64, 32]


@pytest.mark.filterwarnings("ignore:Only .* calibration signals")
def test_internal_calibration_split_is_seeded():
    X = benign_signals(280)
    a = SRIGuard(epochs=10, seed=3).fit(X)
    b = SRIGuard(epochs=10, seed=3).fit(X)
    c = SRIGuard(epochs=10, seed=4).fit(X)
    assert a.n_calib_ == 40 and a.n_train_ == 240  # 200/1400 of 280
    probe = np.vstack([X[:10], dip_signals(3)])
    np.testing.assert_array_equal(a.score_samples(probe), b.score_samples(probe))
    assert a.threshold_ == b.threshold_
    assert not np.array_equal(a.score_samples(probe), c.score_samples(probe))


def test_same_seed_same_scores_and_global_rng_untouched(data):
    torch.manual_seed(123)
    before = torch.rand(1)
    torch.manual_seed(123)
    g1 = SRIGuard(epochs=15, seed=5).fit(data["train"], data["calib"])
    after = torch.rand(1)
    assert torch.equal(before, after)
    g2 = SRIGuard(epochs=15, seed=5).fit(data["train"], data["calib"])
    np.testing.assert_array_equal(g1.score_samples(data["dip"]), g2.score_samples(data["dip"]))


def test_save_load_identical(guard, data, tmp_path):
    out = guard.save(tmp_path / "guard")
    assert sorted(p.name for p in out.iterdir()) == ["sri_guard.json", "sri_guard.safetensors"]
    meta = json.loads((out / "sri_guard.json").read_text())
    assert meta["threshold"] == guard.threshold_ and meta["n_params"] == 2664
    g2 = SRIGuard.load(out)
    X = np.vstack([data["heldout"][:50], data["dip"]])
    np.testing.assert_array_equal(g2.score_samples(X), guard.score_samples(X))
    np.testing.assert_array_equal(g2.predict(X), guard.predict(X))
    np.testing.assert_array_equal(g2.calib_scores_, guard.calib_scores_)
    assert g2.threshold_ == guard.threshold_ and g2.percentile == guard.percentile
    with pytest.raises(FileNotFoundError, match="not a saved SRIGuard"):
        SRIGuard.load(tmp_path / "nothing")


def test_clear_errors(guard, data):
    X = data["train"]
    with pytest.raises(ValueError, match=r"Too few calibration signals: 10.*at least 20.*≥ 100"):
        SRIGuard(epochs=1).fit(X, X[:10])
    with pytest.raises(ValueError, match="Too few calibration signals"):
        SRIGuard(epochs=1).fit(X[:50])  # 7 held out of 50
    bad = X.copy()
    bad[3, 5] = np.nan
    with pytest.raises(ValueError, match="NaN/inf"):
        SRIGuard(epochs=1).fit(bad)
    with pytest.raises(ValueError, match="NaN/inf"):
        SRIGuard(epochs=1).fit(X, np.where(np.arange(T) == 0, np.inf, data["calib"]))
    with pytest.raises(ValueError, match="NaN/inf"):
        guard.predict(bad[:5])
    with pytest.raises(ValueError, match="fitted on T=32"):
        guard.predict(np.full((2, 16), 0.9))
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        guard.score_samples(np.full((2, T), 3.0))
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        SRIGuard(epochs=1).fit(X * 10)
    with pytest.raises(ValueError, match="1-D"):
        guard.predict(np.full(T, 0.9))
    with pytest.raises(RuntimeError, match="not fitted"):
        SRIGuard().predict(X)
    with pytest.raises(ValueError, match="percentile"):
        SRIGuard(percentile=100)
    # linear output: no range check, other features allowed
    SRIGuard(epochs=2, output="linear").fit(X * 10, data["calib"] * 10)


def test_small_calibration_warns(data):
    with pytest.warns(UserWarning, match="needs ≥ 100"):
        SRIGuard(epochs=1).fit(data["train"], data["calib"][:50])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        SRIGuard(percentile=95, epochs=1).fit(data["train"], data["calib"][:50])  # 95th: ≥ 20 is enough


# ----------------------------------------------------------------------------------------------
# one-class detectors
# ----------------------------------------------------------------------------------------------
@pytest.mark.filterwarnings("ignore:Only .* calibration signals")
@pytest.mark.parametrize(
    "make, catches_dips",
    [
        (lambda: IsolationForestDetector(n_estimators=50), False),  # axis-aligned splits: see docstring
        (lambda: OneClassSVMDetector(), True),
        (lambda: MahalanobisDetector(), True),
    ],
    ids=["iforest", "ocsvm", "mahalanobis"],
)
def test_one_class_same_api_and_threshold_rule(make, catches_dips, data):
    det = make().fit(data["train"], data["calib"])
    assert det.benign_only is True
    assert det.threshold_ == np.percentile(-det.score_samples(data["calib"]), 99.0)
    assert 0 < np.mean(det.predict(data["calib"]) == -1) <= 0.02
    X = np.vstack([data["heldout"][:30], data["dip"][:10]])
    d, p = det.decision_function(X), det.predict(X)
    np.testing.assert_allclose(d, det.threshold_ + det.score_samples(X))
    assert np.array_equal(p == -1, d < 0)
    if catches_dips:
        assert np.all(det.predict(data["dip"]) == -1)
    with pytest.raises(ValueError, match="fitted on T=32"):
        det.predict(np.full((1, 8), 0.5))
    with pytest.raises(ValueError, match="Too few calibration"):
        make().fit(data["train"], data["calib"][:5])
    # internal split works the same way as SRI Guard's
    det2 = make().fit(benign_signals(280))
    assert det2.n_calib_ == 40


def test_supervised_upper_bound_is_marked_and_works(data):
    assert SupervisedUpperBound.benign_only is False
    with pytest.raises(ValueError, match="X_attack"):
        SupervisedUpperBound().fit(data["train"])
    det = SupervisedUpperBound().fit(data["train"], data["calib"], X_attack=dip_signals(100, seed=11))
    assert det.threshold_ == np.percentile(det.calib_scores_, 99.0)
    assert np.all(det.predict(data["dip"]) == -1)
    assert np.mean(det.predict(data["heldout"]) == -1) <= 0.03


# ----------------------------------------------------------------------------------------------
# evaluation protocol
# ----------------------------------------------------------------------------------------------
def test_detection_metrics_known_answers():
    b = np.linspace(0.5, 1.0, 200)  # higher = more normal
    a = np.linspace(-1.0, 0.0, 50)
    m = detection_metrics(b, a)
    assert m["auroc"] == 1.0 and m["tpr_at_1fpr"] == 1.0 and m["tpr_at_5fpr"] == 1.0
    assert (m["n_benign"], m["n_attack"]) == (200, 50)
    assert detection_metrics(a, b)["auroc"] == 0.0
    assert detection_metrics(-b, -a, higher_is_normal=False)["auroc"] == 1.0
    # identical distributions: AUROC 0.5
    assert detection_metrics([1, 2, 3], [1, 2, 3])["auroc"] == 0.5
    # benign anomaly scores 0..99: 95th percentile 94.05, attacks above it: 95..99 and 200 → 6 of 8
    attacks = np.array([95, 96, 97, 98, 99, 200, 10, 20])
    assert tpr_at_fpr(np.arange(100), attacks, 0.05, higher_is_normal=False) == 6 / 8
    with pytest.raises(ValueError, match="NaN"):
        detection_metrics([np.nan, 1.0], [0.0])
    t = detection_table(b, {"sep": a, "same": b})
    assert list(t.index) == ["sep", "same", ALL_JAILBREAKS]
    assert t.loc["sep", "auroc"] == 1.0 and t.loc["same", "auroc"] == pytest.approx(0.5)
    assert t.loc[ALL_JAILBREAKS, "auroc"] == pytest.approx(0.75) and t.loc[ALL_JAILBREAKS, "n_attack"] == 250


def test_blocking_table_known_answers():
    fam = ["benign"] * 4 + ["A"] * 4 + ["B"] * 2
    flags = [1, 0, 0, 0, 1, 0, 0, 0, 0, 0]
    refused = [0, 1, 0, 0, 0, 1, 0, 0, 0, 0]
    complied = [0, 0, 0, 0, 1, 0, 1, 1, 1, 0]  # the flagged A generation complied: blocked → not a success
    df = blocking_table(flags, refused, complied, fam)
    assert list(df.index) == ["benign", "A", "B", ALL_JAILBREAKS]
    assert df.loc["benign", "FP %"] == 50.0  # one blocked, one refused on its own
    assert df.loc["A", "RR %"] == 50.0 and df.loc["A", "ASR %"] == 50.0
    assert df.loc["B", "RR %"] == 0.0 and df.loc["B", "ASR %"] == 50.0
    assert df.loc[ALL_JAILBREAKS, "RR %"] == 25.0 and df.loc[ALL_JAILBREAKS, "ASR %"] == 50.0
    assert df.loc[ALL_JAILBREAKS, "n"] == 6 and df.loc["A", "flagged %"] == 25.0
    row = defense_summary(df)
    assert row.to_dict() == {"FP %": 50.0, "RR %": 25.0, "ASR %": 50.0}
    undefended = blocking_table(np.zeros(10, bool), refused, complied, fam)
    assert undefended.loc["A", "ASR %"] == 75.0 and undefended.loc["benign", "FP %"] == 25.0
    with pytest.raises(ValueError, match="one per generation"):
        blocking_table(flags[:3], refused, complied, fam)


class FakeClock:
    """A deterministic timer: time moves only when the timed functions advance it."""

    def __init__(self):
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_measure_overhead_known_answers():
    clock, calls = FakeClock(), []
    durations = iter([100.0, 10.0, 20.0, 11.0, 21.0, 12.0, 22.0, 13.0, 23.0])   # warm-up first, then timed

    def gen():
        d = next(durations)
        calls.append(f"gen {d:g}")
        clock.now += d
        return d

    def defend(out):
        calls.append(f"defend {out:g}")
        clock.now += 2.0

    r = measure_overhead(gen, defend, repeats=4, warmup=1, timer=clock)
    # plain and defended runs alternate (plain first on even repeats); the warm-up round is not timed
    assert calls == ["gen 100", "defend 100", "gen 10", "gen 20", "defend 20", "gen 11", "defend 11", "gen 21",
                     "gen 12", "gen 22", "defend 22", "gen 13", "defend 13", "gen 23"]
    assert r.gen_times == [10.0, 21.0, 12.0, 23.0]
    assert r.gen_defense_times == [22.0, 13.0, 24.0, 15.0] and r.defense_times == [2.0] * 4
    # medians: generation 16.5, generation + defense 18.5, defense 2
    assert r.overhead_pct == pytest.approx(100 * 2.0 / 16.5) and r.defense_pct == pytest.approx(100 * 2.0 / 16.5)
    assert r.as_dict()["overhead %"] == r.overhead_pct and r.as_dict()["defense %"] == r.defense_pct
    # a defense that costs nothing, a generation that takes no time, no repeats
    free = measure_overhead(lambda: clock.__setattr__("now", clock.now + 5.0), lambda _: None, repeats=3,
                            timer=clock)
    assert free.overhead_pct == 0.0 and free.defense_pct == 0.0 and free.gen_times == [5.0] * 3
    with pytest.raises(ValueError, match="no measurable time"):
        measure_overhead(lambda: None, lambda _: None, repeats=2, timer=clock)
    with pytest.raises(ValueError, match="repeats"):
        measure_overhead(gen, defend, repeats=0, timer=clock)
    assert inspect.signature(measure_overhead).parameters["timer"].default is time.perf_counter


def test_figures_return_figures(guard, data, tmp_path, monkeypatch):
    import matplotlib.figure

    monkeypatch.chdir(tmp_path)
    maha = MahalanobisDetector().fit(data["train"], data["calib"])
    fig = roc_figure({
        "SRI Guard": (guard.score_samples(data["heldout"]), guard.score_samples(data["dip"])),
        "Mahalanobis": (maha.score_samples(data["heldout"]), maha.score_samples(data["dip"])),
    })
    assert isinstance(fig, matplotlib.figure.Figure) and "AUROC" in fig.axes[0].get_legend().texts[0].get_text()
    fig2 = overhead_figure({
        "Undefended": {"overhead %": 0.0, "ASR %": 36.4},
        "PPL": {"overhead %": 4.26, "ASR %": 35.7},
        "SRI Guard": {"overhead %": 0.025, "ASR %": 27.9},
    })
    assert isinstance(fig2, matplotlib.figure.Figure) and fig2.axes[0].get_xscale() == "log"
    assert list(tmp_path.iterdir()) == []  # nothing saved


# ----------------------------------------------------------------------------------------------
# model-based baselines on tiny models (wrapped with sri_kit.wrap_model)
# ----------------------------------------------------------------------------------------------
CHARS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 .,?!'\n:;#@%^&*()[]{}<>/|~-_=+\"$"
SPECIALS = ["<pad>", "<bos>", "<eos>", "<unk>", "<|user|>", "<|assistant|>", "<|end|>"]
CHAT_TEMPLATE = (
    "{% for m in messages %}<|{{ m['role'] }}|>{{ m['content'] }}<|end|>{% endfor %}"
    "{% if add_generation_prompt %}<|assistant|>{% endif %}"
)


def make_char_tokenizer():
    from tokenizers import Regex, Tokenizer, decoders, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    vocab = {t: i for i, t in enumerate(SPECIALS + list(CHARS))}
    tok = Tokenizer(models.WordLevel(vocab=vocab, unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.Split(Regex(r"[\s\S]"), behavior="isolated")
    tok.decoder = decoders.Fuse()
    tok.add_special_tokens(SPECIALS)
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, bos_token="<bos>", eos_token="<eos>",
                                   pad_token="<pad>", unk_token="<unk>")
    fast.chat_template = CHAT_TEMPLATE
    return fast


def llama_config(tok, **kw):
    from transformers import LlamaConfig

    base = dict(vocab_size=len(tok), hidden_size=32, intermediate_size=64, num_hidden_layers=1,
                num_attention_heads=2, num_key_value_heads=2, max_position_embeddings=256,
                pad_token_id=tok.pad_token_id, bos_token_id=tok.bos_token_id, eos_token_id=tok.eos_token_id)
    base.update(kw)
    return LlamaConfig(**base)


SUBJECTS = ["the sea", "a cat", "my garden", "the city", "a river", "the moon", "old trees", "a small dog",
            "the market", "winter", "a good friend", "the mountains", "bread", "the library", "rain"]
TASKS = ["Write a short poem about {}.", "Tell me a fun fact about {}.", "Describe {} in two sentences.",
         "Give me three tips about {}.", "What is interesting about {}?"]


OPENERS = ["", "Please: ", "Hi! ", "Quick question. "]
ALL_PROMPTS = [o + t.format(s) for o in OPENERS for t in TASKS for s in SUBJECTS]  # 300 distinct


def benign_prompts(n: int, seed: int) -> list[str]:
    """``n`` distinct benign prompts (distinct so percentile ties do not hide the flag rate)."""
    rng = np.random.default_rng(seed)
    return [ALL_PROMPTS[i] for i in rng.choice(len(ALL_PROMPTS), size=n, replace=False)]


@pytest.fixture(scope="module")
def tiny_ar():
    """A 1-layer char-level Llama trained for a few seconds on benign prompt templates."""
    from transformers import LlamaForCausalLM

    tok = make_char_tokenizer()
    torch.manual_seed(0)
    model = LlamaForCausalLM(llama_config(tok))
    texts = benign_prompts(64, seed=0)
    ids = [[tok.bos_token_id] + tok(t, add_special_tokens=False)["input_ids"] + [tok.eos_token_id] for t in texts]
    width = max(map(len, ids))
    inp = torch.full((len(ids), width), tok.pad_token_id)
    for i, x in enumerate(ids):
        inp[i, : len(x)] = torch.tensor(x)
    labels = inp.masked_fill(inp == tok.pad_token_id, -100)
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    model.train()
    for _ in range(60):
        loss = model(input_ids=inp, attention_mask=(inp != tok.pad_token_id).long(), labels=labels).loss
        opt.zero_grad()
        loss.backward()
        opt.step()
    model.eval()
    return sk.wrap_model(model, tok, family="ar", name="tiny-char-llama")


def log_ppl(lm, text: str) -> float:
    """Mean next-token NLL of BOS + the raw text under the causal model, one prompt at a time (reference)."""
    ids = lm.tokenizer(text, add_special_tokens=False)["input_ids"]
    ids = torch.tensor([[lm.tokenizer.bos_token_id] + ids])
    with torch.no_grad():
        logits = lm.model(input_ids=ids).logits[0, :-1].float()
    return float(torch.nn.functional.cross_entropy(logits, ids[0, 1:]))


def test_perplexity_filter_calibration_and_gibberish(tiny_ar):
    calib = benign_prompts(100, seed=1)
    ppl = PerplexityFilter(tiny_ar, percentile=99.0, batch_size=32).fit(calib)
    reference = np.array([log_ppl(tiny_ar, p) for p in calib])
    np.testing.assert_allclose(ppl.calib_scores_, reference, rtol=1e-4, atol=1e-5)
    assert ppl.threshold_ == pytest.approx(np.percentile(reference, 99.0), rel=1e-4)
    assert 0 < np.mean(ppl.flag(calib)) <= 0.02
    # batched scores equal one-at-a-time scores
    one = np.array([PerplexityFilter(tiny_ar).scores([p])[0] for p in calib[:3]])
    np.testing.assert_allclose(ppl.scores(calib[:3]), one, rtol=1e-4, atol=1e-5)
    held = benign_prompts(20, seed=2)
    gib = ["#@%^&*~|zq{x}]vk<>jw$+=_", "Qz9]{~^%@|xJ_+=<*&#$vw"]
    assert ppl.scores(gib).min() > ppl.scores(held).max()
    assert ppl.flag(gib).all() and np.mean(ppl.flag(held)) <= 0.1


def test_perplexity_filter_windowed(tiny_ar):
    win = PerplexityFilter(tiny_ar, window=8)
    fluent = "Write a short poem about the sea. Tell me a fun fact about the moon. Describe rain."
    suffixed = fluent + " #@%^&*~|"
    d = win.scores_detail([fluent, suffixed])
    assert list(d.columns) == ["log_ppl", "window_max_log_ppl", "n_tokens"]
    # a short gibberish suffix moves the windowed max much more than the whole-prompt mean
    gain_window = d.window_max_log_ppl[1] - d.window_max_log_ppl[0]
    gain_whole = d.log_ppl[1] - d.log_ppl[0]
    assert gain_window > 1.5 * gain_whole > 0
    np.testing.assert_allclose(win.scores([fluent, suffixed]), d.window_max_log_ppl)
    with pytest.raises(RuntimeError, match="fit"):
        win.flag([fluent])
    with pytest.raises(ValueError, match="Too few benign prompts"):
        win.fit(benign_prompts(5, seed=0))
    with pytest.raises(ValueError, match="list of strings"):
        win.scores("one string")
    with pytest.raises(ValueError, match="autoregressive"):
        PerplexityFilter(sk.wrap_model(tiny_ar.model, tiny_ar.tokenizer, family="diffusion",
                                       mask_token_id=tiny_ar.tokenizer.unk_token_id))
    with pytest.raises(TypeError, match="LoadedModel"):
        PerplexityFilter(tiny_ar.model)
    with pytest.raises(ValueError, match="context"):
        win.scores(["a" * 400])


def test_parsers():
    assert parse_yes_no("Yes, this is harmful") is True
    assert parse_yes_no(" no.") is False
    assert parse_yes_no("I'm sorry, I can't help with that") is None
    assert parse_yes_no("Nobody knows; yes") is True  # word boundaries: "Nobody" is not "no"
    assert parse_safe_unsafe("\n\nunsafe\nS1") is True
    assert parse_safe_unsafe("safe") is False
    assert parse_safe_unsafe("unsure") is None


def test_self_examine(tiny_ar):
    prompts = ["How do I bake bread?", "Tell me something."]
    responses = ["Sure, here is how to bake bread. Step 1: mix. Step 2: bake.", "I cannot help with that."]
    fake = SelfExamine(tiny_ar, generate_fn=lambda qs: ["Yes, harmful." if "Sure" in q else "No" for q in qs])
    assert fake.flag(prompts, responses).tolist() == [True, False]
    assert fake.scores(prompts, responses).tolist() == [1.0, 0.0]
    wordy = SelfExamine(tiny_ar, generate_fn=lambda qs: ["It is harmful.", "It is harmless."])
    assert wordy.scores(prompts, responses).tolist() == [0.5, 0.5]   # yes/no only, as before
    real = SelfExamine(tiny_ar, max_new_tokens=4)  # greedy on the tiny model: runs, parses, weak judge
    out = real.flag(prompts, responses)
    assert len(real.last_answers_) == 2 and all(isinstance(a, str) for a in real.last_answers_)
    # a flag is exactly a yes in the model's own answer (nothing else counts)
    assert out.tolist() == [parse_yes_no(a, synonyms=False) is True for a in real.last_answers_]
    scripted = SelfExamine(tiny_ar, generate_fn=lambda qs: ["yes"] * len(qs))
    assert scripted.flag(prompts, responses).tolist() == [True, True]
    with pytest.raises(ValueError, match="responses"):
        real.flag(prompts)


def test_keyword_refusal_judge():
    j = KeywordRefusalJudge(judge=lambda r: "cannot" in r)
    assert j.flag(["p1", "p2"], ["I cannot do that.", "Sure."]).tolist() == [True, False]
    default = KeywordRefusalJudge()   # the kit's one refusal judge: sri_kit.judges.is_refusal
    texts = ["I'm sorry, but I cannot help with that.", "Sure, here is a poem about the sea.", "As an AI, no."]
    assert default.flag(["p"] * 3, texts).tolist() == [sk.is_refusal(t) for t in texts] == [True, False, True]


def test_guard_classifier_sequence_classifier(tmp_path):
    from transformers import LlamaForSequenceClassification

    tok = make_char_tokenizer()
    torch.manual_seed(0)
    cfg = llama_config(tok, num_labels=2, id2label={0: "SAFE", 1: "UNSAFE"}, label2id={"SAFE": 0, "UNSAFE": 1})
    model = LlamaForSequenceClassification(cfg).eval()
    g = GuardClassifier(model, tok)
    assert g.kind == "classifier" and g.unsafe_label == 1
    prompts = ["How do I bake bread?", "Tell me a fun fact about the moon.", "x"]
    s = g.scores(prompts)
    assert s.shape == (3,) and np.all((s >= 0) & (s <= 1))
    assert np.array_equal(g.flag(prompts), s > 0.5)
    # batched equals one-by-one
    np.testing.assert_allclose(s, np.concatenate([g.scores([p]) for p in prompts]), rtol=1e-4, atol=1e-6)
    responses = ["Sure.", "No.", "ok"]
    s2 = g.scores(prompts, responses=responses)
    # with responses, the classifier reads the (prompt, response) pair through its text template
    paired = [g.text_template.format(prompt=p, response=r) for p, r in zip(prompts, responses)]
    np.testing.assert_allclose(s2, g.scores(paired), rtol=1e-5, atol=1e-7)
    assert not np.allclose(s2, s)
    assert GuardClassifier(model, tok, unsafe_label="SAFE").unsafe_label == 0
    # load from a local directory, kind chosen automatically
    model.save_pretrained(tmp_path / "guard")
    tok.save_pretrained(tmp_path / "guard")
    g2 = GuardClassifier(str(tmp_path / "guard"))
    assert g2.kind == "classifier"
    np.testing.assert_allclose(g2.scores(prompts), s, rtol=1e-5, atol=1e-6)


def test_guard_classifier_chat_guard():
    from transformers import LlamaForCausalLM

    tok = make_char_tokenizer()
    torch.manual_seed(0)
    model = LlamaForCausalLM(llama_config(tok)).eval()
    g = GuardClassifier(model, tok, max_new_tokens=6)
    assert g.kind == "chat"
    flags = g.flag(["How do I bake bread?", "hi"], ["Sure, step 1.", "hello"])
    # a flag is an 'unsafe' verdict in the guard's answer; unparsable answers do not flag
    assert len(g.last_answers_) == 2
    assert flags.tolist() == [parse_safe_unsafe(a) is True for a in g.last_answers_]
    assert g.scores(["hi"], ["hello"]).tolist() == [
        {True: 1.0, False: 0.0, None: 0.5}[parse_safe_unsafe(g.last_answers_[0])]]
    tok2 = make_char_tokenizer()
    tok2.chat_template = None
    with pytest.raises(ValueError, match="chat_template"):
        GuardClassifier(model, tok2, kind="chat")


# ----------------------------------------------------------------------------------------------
# with the core (real LoadedModel from tests/conftest.py: tiny random Llama and BERT)
# ----------------------------------------------------------------------------------------------
def test_baselines_on_core_loaded_models(ar_lm, bert_lm):
    prompts = ["write a poem about the sea", "how do I bake bread at home"]
    responses = ["sure here is how to do it step 1 step 2", "I am sorry but I cannot help with that"]
    for lm in (ar_lm, bert_lm):  # both answer through sri_kit.sampling.generate_texts
        se = SelfExamine(lm, max_new_tokens=4)
        flags = se.flag(prompts, responses)
        assert flags.tolist() == [parse_yes_no(a, synonyms=False) is True for a in se.last_answers_]
    assert KeywordRefusalJudge().flag(prompts, responses).tolist() == [False, True]
    calib = [f"{p} number {i}" for i in range(25) for p in prompts[:1]]
    ppl = PerplexityFilter(ar_lm).fit(calib)
    assert ppl.threshold_ == pytest.approx(np.percentile([log_ppl(ar_lm, p) for p in calib], 99.0), rel=1e-4)
    with pytest.raises(ValueError, match="autoregressive"):
        PerplexityFilter(bert_lm)


def _hf_greedy_texts(lm, rows, n):
    """The pre-sampling-core answer: HF greedy ``generate`` per row, cut at the first end token."""
    out = []
    for row in rows:
        inp = torch.tensor([row], device=lm.device)
        gen = lm.model.generate(input_ids=inp, attention_mask=torch.ones_like(inp), max_new_tokens=n,
                                do_sample=False, pad_token_id=lm.pad_token_id, eos_token_id=list(lm.end_token_ids))
        new = gen[0, inp.shape[1]:].tolist()
        cut = next((k for k, t in enumerate(new) if t in lm.end_token_ids), len(new))
        out.append(lm.tokenizer.decode(new[:cut], skip_special_tokens=True).strip())
    return out


def test_self_examine_answers_unchanged(ar_lm, bert_lm):
    """Self-Examine answers as before the sampling core: AR = HF greedy on encode_chat with
    max_new_tokens tokens; diffusion = generate with steps = gen_length = max_new_tokens, one block, greedy."""
    responses = ["sure here is how to do it step 1 step 2", "I am sorry but I cannot help with that", "hello world"]
    se = SelfExamine(ar_lm, max_new_tokens=5, batch_size=2)
    queries = [se.template.format(response=r) for r in responses]
    rows = ar_lm.encode_chat(queries, system_prompt=ar_lm.default_config.system_prompt)
    answers = se.answers(["p"] * 3, responses)
    assert [a.strip() for a in answers] == _hf_greedy_texts(ar_lm, rows, 5) and any(answers)
    sd = SelfExamine(bert_lm, max_new_tokens=4)
    old = bert_lm.default_config.replace(steps=4, gen_length=4, block_length=None, temperature=0.0)
    assert sd.answers(["p"] * 3, responses) == [t.text for t in sk.generate(bert_lm, queries, old, progress=False)]


def test_chat_guard_answers_unchanged(ar_lm):
    """The chat guard's verdict text is HF greedy decoding of the conversation (now through the AR sampler)."""
    g = GuardClassifier(ar_lm, max_new_tokens=6, batch_size=2)
    prompts, responses = ["write a poem about the sea", "hello", "tell me a story"], ["sure", "hello world", "no"]
    g.scores(prompts, responses)
    answers = g.last_answers_
    tok = ar_lm.tokenizer
    rows = [tok(tok.apply_chat_template([{"role": "user", "content": p}, {"role": "assistant", "content": r}],
                                        tokenize=False, add_generation_prompt=True), add_special_tokens=False)["input_ids"]
            for p, r in zip(prompts, responses)]
    assert [a.strip() for a in answers] == _hf_greedy_texts(ar_lm, rows, 6) and any(answers)


@pytest.mark.filterwarnings("ignore:Only .* calibration signals")
def test_guard_on_generated_traces_and_overhead(ar_lm):
    import sri_kit as sk

    cfg = ar_lm.default_config.replace(steps=8)
    prompts = [f"write a poem about the sea {i}" for i in range(60)]
    traces = sk.generate(ar_lm, prompts, cfg, progress=False, batch_size=32)
    acts = np.stack([t.activations for t in traces])
    centers = (acts[:30].mean(0), acts[30:].mean(0))  # a plain (harmless, harmful) pair
    sigma = sk.sri_signal(traces, centers)
    assert sigma.shape == (60, 8)
    guard = SRIGuard(epochs=5, min_calib=10).fit(sigma[:40], sigma[40:])
    # the threshold is the 99th percentile of the calibration signals' reconstruction errors
    calib = sigma[40:]
    errors = ((guard.reconstruct(calib) - calib) ** 2).mean(axis=1)
    assert guard.threshold_ == pytest.approx(np.percentile(errors, 99.0), rel=1e-5)
    assert (guard.predict(calib) == -1).tolist() == (errors > guard.threshold_ * (1 + 1e-6)).tolist()
    batch, seen = prompts[:4], []

    def defend(tr):
        seen.append([t.prompt for t in tr])
        return guard.predict(sk.sri_signal(tr, centers))

    r = measure_overhead(lambda: sk.generate(ar_lm, batch, cfg, progress=False), defend, repeats=3)
    assert seen == [batch] * 4     # one warm-up + 3 timed runs, each on the generated traces of the batch
    assert len(r.gen_times) == 3 and min(r.gen_times) > 0 and r.defense_pct > 0
