"""The real-browser check of the notebooks and their widgets (``sri-kit browser-check``; docs/BROWSER_CHECK.md).

- :mod:`sri_kit.browser_check.check`: the command line (``main(argv)``): starts JupyterLab on loopback, runs
  the check, stops everything, prints the ``BROWSER CHECK: PASS|FAIL`` line.
- :mod:`sri_kit.browser_check.lab`: the browser side: each notebook opened and run in JupyterLab, its widgets
  exercised through Playwright.

It checks a clone of the kit (its ``notebooks/``), not an installed wheel. Playwright and Chromium (the
``[browser]`` extra and Debian's ``chromium``) are needed only when the check runs: nothing here imports them
at module level.
"""
