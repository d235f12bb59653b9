"""Run the ALE analyses and contrasts of one or more model families (shared analyses fit once)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import pandas as pd

from biomark.ale.results import AleResult, ContrastResult, contrast_cluster_table
from biomark.config import AleConfig, RunConfig
from biomark.errors import InputError
from biomark.families import FAMILIES, SELECTIONS, Contrast, Family, family_counts, select
from biomark.io.atlases import AtlasSet, load_atlases
from biomark.parallel import chunk_seeds
from biomark.pipeline.ale import ale_tables, fit_dataset, fit_two_groups
from biomark.rules import Prepared
from biomark.studies import Dataset

Progress = Callable[[str, int, int], None]
_DIRECTIONS = ("a_minus_b", "b_minus_a", "conjunction")


@dataclass(frozen=True)
class AnalysisOutput:
    """One fitted ALE analysis of a family with its tables."""

    key: str
    title: str
    dataset: Dataset
    duplicates: pd.DataFrame
    result: AleResult
    clusters: pd.DataFrame
    contributions: pd.DataFrame


@dataclass(frozen=True)
class ContrastOutput:
    """One fitted contrast (both subtractions and the conjunction) with its cluster tables."""

    contrast: Contrast
    names: tuple[str, str]
    result: ContrastResult
    tables: dict[str, pd.DataFrame]


@dataclass
class FamilyRun:
    """Everything the report of one or more families shows (filled by :func:`run_families`)."""

    families: list[Family]
    prepared: Prepared
    counts: pd.DataFrame
    analyses: dict[str, AnalysisOutput] = field(default_factory=dict)
    contrasts: dict[str, ContrastOutput] = field(default_factory=dict)
    shifts: dict[str, Any] = field(default_factory=dict)
    # what the data could not support, as (what, why): ALE analyses, contrasts, ROIs, comparisons
    skipped: list[tuple[str, str]] = field(default_factory=list)


def family_list(key: str) -> list[Family]:
    """The families named by ``--family`` (``all`` = every family)."""
    if key == "all":
        return list(FAMILIES.values())
    if key not in FAMILIES:
        raise InputError(
            f"unknown family {key!r}; expected one of {', '.join([*FAMILIES, 'all'])}",
            record="--family",
        )
    return [FAMILIES[key]]


def _seeded(run: RunConfig, index: int, total: int) -> RunConfig:
    """The run with an independent seed per analysis, fixed by the run seed and its position."""
    return replace(run, seed=int(chunk_seeds(run.seed, total)[index].generate_state(1)[0]))


def _stage(progress: Progress | None, label: str) -> Callable[[int, int], None] | None:
    if progress is None:
        return None
    return lambda done, total: progress(label, done, total)


def run_families(
    families: Sequence[Family],
    prepared: Prepared,
    config: AleConfig,
    run: RunConfig,
    progress: Progress | None = None,
) -> FamilyRun:
    """Fit every analysis and contrast the families need, each once."""
    counts = family_counts(prepared.dataset, {f.key: f for f in families})
    out = FamilyRun(list(families), prepared, counts)
    keys = list(dict.fromkeys(k for f in families for k in f.analyses))
    contrasts = list(dict.fromkeys(c for f in families for c in f.contrasts))
    total = len(keys) + len(contrasts)
    atlases = load_atlases()
    for i, key in enumerate(keys):
        title = SELECTIONS[key].title
        ds, dups = select(prepared.dataset, key)
        if ds.n_experiments < 2:
            out.skipped.append((f"ALE: {title}", f"{ds.n_experiments} experiment(s) in the "
                                "data; ALE needs at least 2"))  # fmt: skip
            continue
        out.analyses[key] = _fit_analysis(key, ds, dups, config, run, i, total, atlases,
                                          progress)  # fmt: skip
    for j, contrast in enumerate(contrasts, start=len(keys)):
        missing = [SELECTIONS[k].title for k in (contrast.a, contrast.b) if k not in out.analyses]
        if missing:
            names = " vs ".join(SELECTIONS[k].title for k in (contrast.a, contrast.b))
            out.skipped.append((f"ALE contrast: {names}",
                                f"'{' and '.join(missing)}' could not be analysed"))  # fmt: skip
            continue
        out.contrasts[contrast.key] = _fit_contrast(contrast, out, config, run, j, total,
                                                    atlases, progress)  # fmt: skip
    return out


def _fit_analysis(
    key: str, ds: Dataset, dups: pd.DataFrame, config: AleConfig, run: RunConfig, index: int,
    total: int, atlases: AtlasSet, progress: Progress | None,
) -> AnalysisOutput:  # fmt: skip
    title = SELECTIONS[key].title
    seeded = _seeded(run, index, total)
    result = fit_dataset(ds, config, seeded, _stage(progress, f"ALE {title}"))
    clusters, contrib = ale_tables(result, ds, atlases)
    return AnalysisOutput(key, title, ds, dups, result, clusters, contrib)


def _fit_contrast(
    contrast: Contrast, done: FamilyRun, config: AleConfig, run: RunConfig, index: int,
    total: int, atlases: AtlasSet, progress: Progress | None,
) -> ContrastOutput:  # fmt: skip
    a, b = done.analyses[contrast.a], done.analyses[contrast.b]
    names = (SELECTIONS[contrast.a].title, SELECTIONS[contrast.b].title)
    seeded = _seeded(run, index, total)
    result, _ = fit_two_groups(
        a.dataset, b.dataset, names, config, seeded,
        _stage(progress, f"Contrast {contrast.a} vs {contrast.b}"),
        main_a=a.result, main_b=b.result,
    )  # fmt: skip
    tables = {d: contrast_cluster_table(result, d, atlases)[0] for d in _DIRECTIONS}  # type: ignore[arg-type]
    return ContrastOutput(contrast, names, result, tables)
