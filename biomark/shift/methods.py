"""Methods paragraphs and references of the peak-shift analyses, as the report prints them.

One place for what the methods say about the t-tests, the ANCOVA each ROI fitted and the
Bayesian model, so that the text changes where the analysis does.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

from biomark.shift.frequentist import METHODS_TEXT

SHIFT_REFERENCES: Final = (
    "Abril-Pla O, Andreani V, Carroll C, et al. (2023). PyMC: a modern, and comprehensive "
    "probabilistic programming framework in Python. PeerJ Comput Sci 9:e1516.",
    "Kumar R, Carroll C, Hartikainen A, Martin O (2019). ArviZ a unified library for "
    "exploratory analysis of Bayesian models in Python. J Open Source Softw 4:1143.",
    "Lancaster JL, Tordesillas-Gutiérrez D, Martinez M, et al. (2007). Bias between MNI and "
    "Talairach coordinates analyzed using the ICBM-152 brain template. Hum Brain Mapp "
    "28:1194-1205.",
    "Vehtari A, Simpson D, Gelman A, Yao Y, Gabry J (2024). Pareto smoothed importance "
    "sampling. J Mach Learn Res 25(72):1-58.",
)

MODEL_METHODS: Final = (
    "The Bayesian hierarchical model (PyMC, sampled with NUTS; summaries with ArviZ) treats "
    "each experiment's peak as a noisy measurement of its latent peak: the measurement SD is "
    "the ALE kernel's spatial uncertainty for the experiment's sample size (Eickhoff et al., "
    "2009) plus a residual between-experiment scale; group displacements (acute, chronic, "
    "subcortical vs healthy) are estimated per axis with weakly informative Normal(0, 10 mm) "
    "priors; cohorts reported more than once share a cohort random effect instead of being "
    "deleted (non-centred parameterisation). Good vs poor outcome of chronic experiments "
    "enters a logistic regression on the latent ventral displacement, so measurement error "
    "propagates into the odds ratio. Shifts are posterior means with 95 % highest-density "
    "intervals (HDI); an odds ratio is the exponential of the posterior median and of the "
    "HDI of the log odds ratio, so its interval and its probability of direction come from "
    "the same draws. A predicted probability for a new peak averages the logistic curve "
    "over the latent displacement that peak is consistent with, given the localisation "
    "error of a peak from its number of subjects and the spread of chronic experiments' "
    "peaks, with each posterior draw weighted by how likely it makes the observed peak. "
    "Convergence is checked by R-hat ≤ 1.01, bulk and tail effective "
    "sample size ≥ 400 and no divergent transitions. In a sensitivity analysis the prior "
    "scales are halved and doubled; the posterior under each is obtained by Pareto-smoothed "
    "importance reweighting of the default fit (Vehtari et al., 2024) when its Pareto k̂ is "
    "≤ 0.7, and by sampling again otherwise."
)


def frequentist_methods(ancova_by_roi: Sequence[tuple[str, str]]) -> str:
    """The t-test methods once, then each ROI's ANCOVA sentence (ROI titles named if they differ).

    ``ancova_by_roi`` is (ROI title, :attr:`FrequentistShift.ancova_text`) per ROI.
    """
    texts = [t for _, t in ancova_by_roi]
    if len(set(texts)) == 1:
        return f"{METHODS_TEXT} {texts[0]}"
    return " ".join([METHODS_TEXT, *(f"{title}: {t}" for title, t in ancova_by_roi)])
