"""Activation-peak displacement: frequentist tests and the Bayesian hierarchical model.

Import the submodules directly; PyMC is imported only by :mod:`~biomark.shift.model`,
:mod:`~biomark.shift.sampling` (the one caller of ``pm.sample``), so the frequentist tests and the
table contract stay light.

- :mod:`~biomark.shift.contract` — the ``peaks`` table, its validation, directions, peak σ.
- :mod:`~biomark.shift.frequentist` — t-tests, Hotelling T², Euclidean distance, ANCOVA.
- :mod:`~biomark.shift.model` — ``build_shift_model`` (never samples).
- :mod:`~biomark.shift.sampling` — ``sample_shift_model``, prior predictive, prior sensitivity.
- :mod:`~biomark.shift.summary` — posterior tables, diagnostics, PPC, comparison table.
- :mod:`~biomark.shift.predict` — ``predict_good_outcome`` for a new patient's MI peak.
"""
