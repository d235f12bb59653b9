"""The simulated stroke dataset biomark ships and tests against (reference data, not results).

* :mod:`biomark.simulate.design` — the plain-data design: experiments, regions, profiles;
* :mod:`biomark.simulate.dataset` — :func:`~biomark.simulate.dataset.simulate_stroke_dataset`
  turns the design into coordinates with one seeded generator;
* :mod:`biomark.simulate.truth` — the ground-truth record written beside the data.
"""
