"""Where foci of MI's neighbours fall: the intensity the MI candidate mixture divides by.

In motor contrasts a thin MI ROI (Jülich BA4a ∪ BA4p) sits between dorsal premotor (PMd) and
primary somatosensory (SI) cortex, whose reported foci overlap it. Measured in the real healthy
motor tables (``data/real/healthy_motor_coordinates.tsv``; :mod:`biomark.power.experiments` has
the counts and ``benchmarks/peak_rule_study.py --estimate-neighbours`` recomputes them): 55 % of
tables with a focus near MI also report a left PMd focus (2.1 foci when they do), 56 % a left
SI focus (2.2 foci), at the centres and per-axis SDs below. Further foci elsewhere are a flat
background of 15 per brain (the embedded generator's brain ellipsoid, semi-axes 52, 68, 40 mm).

Treated as a Poisson process, the non-MI foci of an experiment have intensity (expected foci
per mm³) ``q(x) = Σ_r rate_r (1 + extra_r) N(x; centre_r, diag sd_r²) + background``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Final

import numpy as np
from numpy.typing import NDArray
from scipy import stats

FloatArray = NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class NeighbourRegion:
    """A region whose foci appear beside MI in motor contrasts.

    Attributes
    ----------
    name
        Label stored in a simulated foci table's ``origin`` column.
    centre_mm, sd_mm
        Mean and per-axis SD (mm) of its reported foci.
    rate
        Probability that an experiment reports the region at all.
    extra_foci
        Mean number of further foci (Poisson) when it does.
    """

    name: str
    centre_mm: tuple[float, float, float]
    sd_mm: tuple[float, float, float]
    rate: float
    extra_foci: float

    def always_once(self) -> NeighbourRegion:
        """The region reported by every experiment, by one focus (the scenario tables)."""
        return replace(self, rate=1.0, extra_foci=0.0)

    @property
    def expected_foci(self) -> float:
        """Mean foci an experiment reports in the region."""
        return self.rate * (1.0 + self.extra_foci)


# Measured in the real healthy motor tables (module notes): 205 PMd and 212 SI foci.
PMD: Final = NeighbourRegion("PMd", (-32.4, -12.5, 58.4), (8.3, 7.3, 6.3), 0.55, 1.11)
SI: Final = NeighbourRegion("SI", (-41.6, -29.3, 52.8), (7.7, 7.9, 7.6), 0.56, 1.16)
MI_NEIGHBOURS: Final = (PMD, SI)
# 15 background foci uniform in the brain ellipsoid (semi-axes 52, 68, 40 mm)
BACKGROUND_DENSITY_PER_MM3: Final = 15.0 / (4.0 / 3.0 * math.pi * 52.0 * 68.0 * 40.0)


def neighbour_density(
    xyz_mm: FloatArray, regions: tuple[NeighbourRegion, ...] = MI_NEIGHBOURS
) -> FloatArray:
    """Expected non-MI foci per mm³ at each point ``(n, 3)``: the regions plus the background."""
    xyz = np.atleast_2d(np.asarray(xyz_mm, dtype=np.float64))
    out = np.full(len(xyz), BACKGROUND_DENSITY_PER_MM3)
    for r in regions:
        sd = np.asarray(r.sd_mm)
        u = (xyz - np.asarray(r.centre_mm)) / sd
        norm = (2.0 * math.pi) ** 1.5 * float(np.prod(sd))
        out += r.expected_foci * np.exp(-0.5 * (u**2).sum(axis=1)) / norm
    return out


def expected_neighbours(
    lo_mm: FloatArray, hi_mm: FloatArray, regions: tuple[NeighbourRegion, ...] = MI_NEIGHBOURS
) -> float:
    """Expected non-MI foci of one experiment inside the box ``[lo, hi]`` (mm): ∫ q over it."""
    lo, hi = np.asarray(lo_mm, dtype=np.float64), np.asarray(hi_mm, dtype=np.float64)
    total = BACKGROUND_DENSITY_PER_MM3 * float(np.prod(hi - lo))
    for r in regions:
        c, sd = np.asarray(r.centre_mm), np.asarray(r.sd_mm)
        share = stats.norm.cdf((hi - c) / sd) - stats.norm.cdf((lo - c) / sd)
        total += r.expected_foci * float(np.prod(share))
    return total
