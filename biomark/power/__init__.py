"""Simulation studies: power of planned meta-analyses and null calibration.

* :mod:`biomark.power.design` — :class:`~biomark.power.design.PowerDesign` and named presets
  (``outcome``: the seed paper's 9 good- vs 5 poor-outcome experiments);
* :mod:`biomark.power.replicate` — one simulated meta-analysis (pure numpy, seeded);
* :mod:`biomark.power.shift_power` — Welch and Bayesian power for the MI peak shift;
* :mod:`biomark.power.ale_power` — cluster-level FWE ALE power with one shared null per design;
* :mod:`biomark.power.calibrate` — null false-positive rates of ALE and the subtraction;
* :mod:`biomark.power.study` — runs them through :func:`biomark.parallel.map_chunks`;
* :mod:`biomark.power.results`, :mod:`biomark.power.text` — estimates with Monte Carlo SEs,
  sentences and report rows.

Nothing here reads files or plots: the pipeline passes the brain mask in.
"""
