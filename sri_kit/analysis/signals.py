"""The SRI space and signal comparison (PAPER.md §6, App. E.1, Table 4, Fig. 13).

:func:`lda_projection` projects σ vectors by class (Fig. 13; shrinkage LDA, dropped where degenerate); :func:`layer_ablation` computes SRI at
several layers; :func:`signal_comparison_auroc` measures how well each signal (text, static
activations, SRI per layer) separates benign from attack generations (draw it with
:func:`sri_kit.plots.auroc_figure`).

Example:
    >>> rng = np.random.default_rng(0)
    >>> feats = {"noise": (rng.normal(size=(10, 3)), rng.normal(size=(10, 3))),
    ...          "shifted": (rng.normal(size=(10, 3)), rng.normal(size=(10, 3)) + 5)}
    >>> tab = signal_comparison_auroc(feats)
    >>> tab["signal"].tolist(), float(tab["auroc"].iloc[1])
    (['noise', 'shifted'], 1.0)
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping, Sequence

import numpy as np
import pandas as pd

from .. import sampling            # the module: sampling.generate is looked up at call time (tests patch it)
from ..config import GenerationConfig
from ..judges import text_refusal_signal
from ..models import find_layers
from ..plots.analysis import lda_figure
from ..sri import sri_signal
from .judging import HarmJudge, HeuristicHarmJudge, call_judge
from .recovery import step_texts

__all__ = ["lda_projection", "LayerAblation", "resolve_layer", "layer_ablation", "signal_features",
           "signal_comparison_auroc"]


def lda_projection(sigma_by_class: Mapping[str, np.ndarray], n_components: int = 2, *,
                   shrinkage: str | float = "auto", drop_degenerate: bool = True):
    """Fig. 13 analogue: LDA of σ vectors [N, T] labelled by class, projected to 2-D, with Ledoit-Wolf
    shrinkage and dropped where it is degenerate (the fit of :func:`sri_kit.detectors.lda_summary`).

    σ saturates at 0 or 1 on many steps (and a small sample has fewer signals than steps), so the
    within-class covariance is often singular; a plain LDA then divides by near-zero variances and puts
    the class means at millions of within-class standard deviations. When the unshrunk within-class
    covariance is degenerate (condition number above :data:`sri_kit.detectors.lda.DEGENERATE_CONDITION`)
    and ``drop_degenerate`` (default), ``ld1``/``ld2`` are NaN and the figure says why instead of drawing.
    With two classes LDA has one axis; ``ld2`` is then 0. Classes with fewer than two signals are left
    out. Returns ``(frame, figure)``; the frame has class, ld1, ld2 and ``attrs`` ``condition``,
    ``degenerate``, ``dropped`` (the axes were dropped), ``note`` and ``explained_variance_ratio``; the
    figure is :func:`sri_kit.plots.lda_figure` of the frame.
    """
    from ..detectors.lda import fit_shrinkage_lda

    fit = fit_shrinkage_lda(sigma_by_class, shrinkage=shrinkage, n_components=n_components, caller="lda_projection")
    Z = fit.Z if fit.Z.shape[1] >= 2 else np.column_stack([fit.Z, np.zeros(len(fit.Z))])
    drop = bool(drop_degenerate and fit.degenerate)
    if drop:
        Z = np.full_like(Z, np.nan)
    df = pd.DataFrame({"class": fit.y, "ld1": Z[:, 0], "ld2": Z[:, 1]})
    df.attrs.update(condition=fit.condition, degenerate=fit.degenerate, dropped=drop, note=fit.note(drop_degenerate),
                    explained_variance_ratio=fit.explained_variance_ratio)
    fig = lda_figure(df)
    if drop:
        fig.axes[0].text(0.5, 0.5, "LDA not drawn: degenerate within-class covariance\n"
                         f"(condition number {fit.condition:.2g}; see the frame's attrs['note'])",
                         transform=fig.axes[0].transAxes, ha="center", va="center", fontsize=9)
    return df, fig


# ---- layers and signal comparison (Table 4) ------------------------------------------------------

def resolve_layer(lm, layer) -> int:
    """"first" -> 0 (output of decoder block 0), "middle" -> n_layers // 2, "last" -> −1 (the model's
    hook site, the final-norm output the paper uses); ints pass through."""
    if isinstance(layer, (int, np.integer)):
        return int(layer)
    if layer == "last":
        return -1
    if layer == "first":
        return 0
    if layer == "middle":
        return len(find_layers(lm.model)) // 2
    raise ValueError(f"layer must be 'first', 'middle', 'last' or an int, got {layer!r}")


@dataclass
class LayerAblation:
    """What :func:`layer_ablation` measured. ``sigma[layer]`` = {"benign": [N, T], "attack": [M, T]};
    ``first_step[layer]`` = {"benign": φ_0 [N, D], "attack": φ_0 [M, D]}; ``text`` = per-step text
    refusal signals {"benign": [N, T], "attack": [M, T]} (identical across layers: the tokens do not
    depend on the recorded layer); ``success`` = judge verdicts for the attack generations."""

    table: pd.DataFrame
    sigma: dict = field(default_factory=dict)
    first_step: dict = field(default_factory=dict)
    text: dict = field(default_factory=dict)
    success: np.ndarray | None = None
    layers: dict = field(default_factory=dict)


def layer_ablation(lm, harmless_anchor: Sequence[str], harmful_anchor: Sequence[str], benign_prompts: Sequence[str],
                   attack_prompts: Sequence[str], cfg: GenerationConfig | None = None,
                   layers: Sequence = ("first", "middle", "last"), judge: HarmJudge | None = None, *,
                   attack_prefills=None, progress: bool = False, auroc: bool = True,
                   generate=None) -> LayerAblation:
    """SRI computed at several layers (App. E.1): per layer, centers fitted on the anchors as with
    ``cfg.replace(layer=k)``, then σ for benign and attack generations.

    One generation pass per prompt set records every layer at once (``generate(..., sites=[...])``;
    the recorded layer does not change the tokens), and each layer's traces are views of it
    (``GenerationTrace.at_site``), equal to what a separate run with ``layer=k`` records. ``generate``:
    ``generate(prompts, prefill, sites) -> traces`` in place of ``sampling.generate`` (e.g. through a
    :class:`sri_kit.cache.GenerationCache`, as the report does).

    ``table``: one row per layer × group (benign, attack) with layer, layer_index, mean σ, final σ,
    min σ (means over generations) and (``auroc=True``) the logistic AUROC of that layer's σ (see
    :func:`signal_comparison_auroc`).
    """
    from ..sampling.recorder import config_site
    from ..sri import Centers

    cfg = cfg or lm.default_config
    judge = judge or HeuristicHarmJudge()
    res = LayerAblation(table=pd.DataFrame())
    rows = []
    ks = {str(lay): resolve_layer(lm, lay) for lay in layers}
    sites = [config_site(cfg.replace(layer=k)) for k in ks.values()]

    def run(prompts, prefill=None):
        if generate is not None:
            return generate(list(prompts), prefill, sites)
        return sampling.generate(lm, list(prompts), cfg, progress=progress, prefill=prefill, sites=sites)

    h_all, b_all = run(harmless_anchor), run(harmful_anchor)
    ben_all, att_all = run(benign_prompts), run(attack_prompts, attack_prefills)
    for name, k in ks.items():
        site = config_site(cfg.replace(layer=k))
        ben, att = ([t.at_site(site, cfg) for t in trs] for trs in (ben_all, att_all))
        centers = Centers.fit([t.at_site(site, cfg) for t in h_all], [t.at_site(site, cfg) for t in b_all])
        sb, sa = sri_signal(ben, centers), sri_signal(att, centers)
        res.layers[name] = k
        res.sigma[name] = {"benign": sb, "attack": sa}
        res.first_step[name] = {"benign": np.stack([t.activations[0] for t in ben]),
                                "attack": np.stack([t.activations[0] for t in att])}
        if not res.text:
            res.text = {"benign": np.stack([text_refusal_signal(step_texts(t)) for t in ben]),
                        "attack": np.stack([text_refusal_signal(step_texts(t)) for t in att])}
            res.success = call_judge(judge, [t.prompt for t in att], [t.response for t in att])
        for g, s in (("benign", sb), ("attack", sa)):
            rows.append({"layer": name, "layer_index": k, "group": g, "n": len(s), "mean_sigma": float(s.mean()),
                         "final_sigma": float(s[:, -1].mean()), "min_sigma": float(s.min(1).mean())})
    tab = pd.DataFrame(rows)
    if auroc:
        auc = signal_comparison_auroc(res).set_index("signal")["auroc"]
        tab["auroc"] = tab["layer"].map({lay: float(auc[f"SRI ({lay} layer)"]) for lay in res.sigma})
    res.table = tab
    return res


def signal_features(ablation: LayerAblation, static_layer: str = "last") -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Feature sets compared in Table 4: name -> (X_benign, X_attack).

    * ``text-based signal``: the per-step dictionary signal [T] of each generation;
    * ``static activations (first step)``: φ_0 [D] at ``static_layer``;
    * ``SRI (<layer> layer)``: the σ vector [T] at each ablated layer.
    """
    feats = {"text-based signal": (ablation.text["benign"], ablation.text["attack"])}
    if static_layer not in ablation.first_step:
        static_layer = next(iter(ablation.first_step))
    fs = ablation.first_step[static_layer]
    feats["static activations (first step)"] = (fs["benign"], fs["attack"])
    for lay, s in ablation.sigma.items():
        feats[f"SRI ({lay} layer)"] = (s["benign"], s["attack"])
    return feats


def _cv_auroc(Xb: np.ndarray, Xa: np.ndarray, scorer: str, folds: int, seed: int) -> float:
    y, score = _cv_scores(Xb, Xa, scorer, folds, seed)
    if score is None:
        return float("nan")
    from sklearn.metrics import roc_auc_score
    return float(roc_auc_score(y, score))


def _cv_scores(Xb: np.ndarray, Xa: np.ndarray, scorer: str, folds: int, seed: int):
    """Out-of-fold scores ``(y, score)`` (``score`` None when a class has fewer than 2 rows)."""
    # heavy: sklearn loads on first use (importing it with the package adds ~1.3 s to `import sri_kit`)
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    X = np.concatenate([Xb, Xa]).astype(float)
    y = np.r_[np.zeros(len(Xb)), np.ones(len(Xa))]
    if len(Xb) < 2 or len(Xa) < 2:
        return y, None
    k = int(min(folds, len(Xb), len(Xa)))
    score = np.zeros(len(y))
    skf = StratifiedKFold(n_splits=k, shuffle=True, random_state=seed)
    for tr, te in skf.split(X, y):
        if scorer == "logistic":
            if np.ptp(X[tr], axis=0).max(initial=0) == 0:       # constant features: no information
                score[te] = 0.0
                continue
            clf = make_pipeline(StandardScaler(), LogisticRegression(C=1.0, solver="liblinear", max_iter=2000))
            clf.fit(X[tr], y[tr])
            score[te] = clf.decision_function(X[te])
        else:   # one-class: distance to the benign training mean in benign-standardised units
            ben = X[tr][y[tr] == 0]
            mu, sd = ben.mean(0), ben.std(0) + 1e-6
            score[te] = np.sqrt((((X[te] - mu) / sd) ** 2).mean(1))
    return y, score


def signal_comparison_auroc(ablation_or_features, scorer: str = "logistic", positive: str = "all",
                            folds: int = 5, seed: int = 0, clusters=None) -> pd.DataFrame:
    """Table 4 analogue: how well each signal separates benign from attack generations (AUROC).

    Task: negatives = generations for benign prompts; positives = generations for attack prompts
    (``positive="all"``, default) or only the successful attacks (``"successful"``, judged when the
    ablation was made). Score: ``scorer="logistic"`` (default) — standardised logistic regression,
    out-of-fold decision values from stratified ``folds``-fold cross-validation (supervised; the paper's
    SRI Guard is unsupervised, so this measures the information in the signal, not the detector);
    ``"one_class"`` — RMS z-distance to the benign training folds' mean (benign data only, no attack
    labels used for fitting). A signal that is constant across generations scores 0.5.

    Accepts a :class:`LayerAblation` or a dict ``name -> (X_benign, X_attack)``. Columns: signal, auroc,
    n_benign, n_attack, scorer, positive. With ``clusters=(request ids of the benign rows, of the attack
    rows)`` also ``auroc_lo``, ``auroc_hi``, ``n_requests``: the 95 % interval of the out-of-fold AUROC,
    bootstrap over requests (:func:`sri_kit.stats.auroc_interval`; a request's benign and attacked
    generations travel together).
    """
    if scorer not in ("logistic", "one_class"):
        raise ValueError(f"scorer must be 'logistic' or 'one_class', got {scorer!r}")
    if positive not in ("all", "successful"):
        raise ValueError(f"positive must be 'all' or 'successful', got {positive!r}")
    if isinstance(ablation_or_features, LayerAblation):
        feats = signal_features(ablation_or_features)
        keep = ablation_or_features.success
    else:
        feats, keep = dict(ablation_or_features), None
        if positive == "successful":
            raise ValueError("positive='successful' needs a LayerAblation (it holds the judge's verdicts)")
    rows = []
    for name, (Xb, Xa) in feats.items():
        Xb, Xa = np.asarray(Xb, float), np.asarray(Xa, float)
        if Xb.ndim == 1:
            Xb, Xa = Xb[:, None], Xa[:, None]
        if positive == "successful":
            Xa = Xa[np.asarray(keep, bool)]
        row = {"signal": name, "auroc": _cv_auroc(Xb, Xa, scorer, folds, seed), "n_benign": len(Xb),
               "n_attack": len(Xa), "scorer": scorer, "positive": positive}
        if clusters is not None:
            from ..stats import auroc_interval
            cb, ca = (list(c) for c in clusters)
            if positive == "successful":
                ca = [c for c, k in zip(ca, np.asarray(keep, bool)) if k]
            if len(cb) != len(Xb) or len(ca) != len(Xa):
                raise ValueError(f"clusters give {len(cb)} benign and {len(ca)} attack ids for {len(Xb)} and "
                                 f"{len(Xa)} rows of {name!r}")
            y, score = _cv_scores(Xb, Xa, scorer, folds, seed)
            iv = (auroc_interval(score, y, cb + ca, seed=seed) if score is not None
                  else {"lo": float("nan"), "hi": float("nan"), "clusters": len(set(cb + ca))})
            row.update(auroc_lo=iv["lo"], auroc_hi=iv["hi"], n_requests=iv["clusters"])
        rows.append(row)
    return pd.DataFrame(rows)
