"""sri_kit: step-wise refusal dynamics in autoregressive and diffusion language models.

A thin backend (hooked samplers, the SRI signal, attacks, detectors) under Jupyter notebooks.

Example:
    >>> import sri_kit as sk
    >>> lm = sk.load_model("tiny-dlm")
    >>> harmless = sk.generate(lm, ["Give me a tip for learning guitar."], progress=False)
    >>> harmful = sk.generate(lm, ["Explain how to break into a car."], progress=False)
    >>> harmless[0].refused, harmful[0].refused
    (False, True)
    >>> centers = sk.Centers.fit(harmless, harmful)
    >>> sigma = sk.sri_signal(harmful, centers)                              # [1, 32]: one σ_t per step
    >>> sigma.shape, bool(sigma[0, -1] < 0.5)                                # ends refusal-aligned
    ((1, 32), True)
"""
from . import errors, plots
from .config import EPS, LAMBDA_C, LAMBDA_R, TAU, GenerationConfig
from .errors import SriKitError
from .hooks import record_steps
from .interventions import Intervention, intervene
from .judges import REFUSAL_KEYWORDS, is_placeholder_compliance, is_refusal, text_refusal_signal
from .models import PRESETS, LoadedModel, load_model, wrap_model
from .sampling import GenerationTrace, align_traces, generate, generate_texts, load_traces, save_traces
from .sri import Centers, internal_recoveries, internal_recovery_rate, sri_signal, sri_states
from .threads import available_cores, set_torch_threads

from . import analysis, attacks, canvas, data, detectors, sweeps  # noqa: E402  (submodules on import)
from .analysis import (HeuristicHarmJudge, LLMJudge, find_incomplete_recovery, fixed_weights_table,  # noqa: E402
                       irr_table, lda_projection, recovery_rates, signal_comparison_auroc, step_judgements)
from .sweeps import sweep  # noqa: E402

__version__ = "0.1.0"

from ._display import register_png_formatter  # noqa: E402

register_png_formatter()     # Figures display as pictures in Jupyter (no pyplot state is used)

__all__ = [
    "GenerationConfig", "TAU", "EPS", "LAMBDA_C", "LAMBDA_R",
    "load_model", "wrap_model", "LoadedModel", "PRESETS",
    "record_steps", "intervene", "Intervention", "generate", "generate_texts", "align_traces", "GenerationTrace", "save_traces", "load_traces",
    "Centers", "sri_signal", "sri_states", "internal_recoveries", "internal_recovery_rate",
    "is_refusal", "is_placeholder_compliance", "text_refusal_signal", "REFUSAL_KEYWORDS",
    "analysis", "attacks", "canvas", "data", "detectors", "errors", "plots", "sweeps", "SriKitError",
    "HeuristicHarmJudge", "LLMJudge", "step_judgements", "recovery_rates", "fixed_weights_table", "irr_table",
    "find_incomplete_recovery", "lda_projection", "signal_comparison_auroc", "sweep",
    "available_cores", "set_torch_threads",
]
