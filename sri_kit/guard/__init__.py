"""SRI Guard evaluation jobs behind ``sri-kit guard-eval`` and ``sri-kit guard-diagnosis``: :mod:`.evaluate` (the
paper-calibration evaluation and its store tables), :mod:`.diagnosis` (the tiny-dlm diagnosis experiments and
their trace cache), :mod:`.analysis` (the diagnosis tables). Imported on demand by the command line."""
