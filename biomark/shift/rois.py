"""The peak-shift regions of interest: their names, masks, tolerances and outcome models.

One place for what an ROI is: the pipeline, the power studies and the benchmarks read these.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
from numpy.typing import NDArray

from biomark.ale.labels import AtlasArrays, left_mi_mask, medial_pmc_mask
from biomark.errors import InputError
from biomark.space import MNI152_2MM, ijk_to_mm

BoolArray = NDArray[np.bool_]

# Upper-limb tasks activate the hand/arm part of MI, lateral to the leg area on the medial wall,
# where medial premotor foci would otherwise pull MI centroids upwards.
MI_HAND_MAX_X_MM = -20.0
ROIS: dict[str, str] = {
    "mi": "Ipsilesional primary motor cortex (MI: Jülich BA4a ∪ BA4p, left, hand/arm part, "
    "foci within 6 mm)",
    "medial-pmc": "Ipsilesional medial premotor cortex (SMA and pre-SMA: Jülich BA6, left, "
    "|x| ≤ 16 mm, foci within 6 mm)",
}
# A reported peak is uncertain by ~4 mm per axis (Eickhoff 2009, N = 10): more than BA4's
# thickness and than the ipsilesional SMA's distance from the midline. Both ROIs therefore admit
# foci up to 6 mm (1.5 SD) away, taking each experiment's nearest ones; without it ventral MI
# and caudal SMA peaks drop out unevenly and the contralesional SMA peak dilutes the centroid.
ROI_TOLERANCE_MM: dict[str, float] = {"mi": 6.0, "medial-pmc": 6.0}
# The paper linked outcome to the MI peak only; a medial-PMC outcome model would be a new claim.
OUTCOME_GROUPS: dict[str, tuple[str, ...]] = {"mi": ("chronic",), "medial-pmc": ()}


def roi_names(text: str) -> list[str]:
    """``mi``, ``medial-pmc`` or ``all``."""
    if text == "all":
        return list(ROIS)
    if text not in ROIS:
        raise InputError(f"--roi must be mi, medial-pmc or all; got {text!r}", record="--roi")
    return [text]


def roi_mask(atlases: Mapping[str, AtlasArrays], roi: str) -> BoolArray:
    """The boolean ROI mask on the MNI 2 mm grid."""
    if roi == "mi":
        mask = left_mi_mask(atlases)
        ijk = np.argwhere(np.ones(MNI152_2MM.shape, dtype=bool))
        x = ijk_to_mm(ijk)[:, 0].reshape(MNI152_2MM.shape)
        return mask & (x <= MI_HAND_MAX_X_MM)
    return medial_pmc_mask(atlases, hemisphere="left")
