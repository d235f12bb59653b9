"""The ``biomark`` command line: parse options, call :mod:`biomark.pipeline`, print results.

Errors the user caused are printed as one line on stderr with exit code 2, never a traceback.
Heavy modules are imported inside the commands so that ``biomark --help`` starts fast.
"""

from __future__ import annotations

import signal
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

if TYPE_CHECKING:
    from biomark.config import RunConfig, SamplerConfig

app = typer.Typer(
    name="biomark",
    help="ALE meta-analysis and peak-displacement biomarkers for stroke motor recovery.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
data_app = typer.Typer(help="Validate and convert coordinate datasets.", no_args_is_help=True)
app.add_typer(data_app, name="data")

EXIT_USER_ERROR = 2
FORMATS = ("sleuth", "nimare", "tsv")


def _run[T](action: Callable[[], T]) -> T:
    """Call ``action``; turn user errors into one line on stderr and exit code 2."""
    from biomark.errors import BiomarkError

    try:
        return action()
    except BiomarkError as exc:
        typer.echo(f"biomark: error: {exc}", err=True)
        raise typer.Exit(EXIT_USER_ERROR) from None
    except OSError as exc:
        where = f"{exc.filename}: " if getattr(exc, "filename", None) else ""
        typer.echo(f"biomark: error: {where}{exc.strerror or exc}", err=True)
        raise typer.Exit(EXIT_USER_ERROR) from None


def _sampler(draws: int, tune: int, chains: int) -> SamplerConfig:
    """The peak-shift sampler settings of ``--draws/--tune/--chains`` (each must be ≥ 1)."""
    from biomark.config import SamplerConfig

    if min(draws, tune, chains) < 1:
        _usage("--draws, --tune and --chains must be >= 1")
    return SamplerConfig(chains=chains, draws=draws, tune=tune)


def _print_table(table: Any) -> None:
    from rich.console import Console
    from rich.table import Table

    out = Table(show_lines=False)
    for col in table.columns:
        out.add_column(str(col), justify="right" if table[col].dtype.kind in "iuf" else "left")
    for row in table.itertuples(index=False):
        out.add_row(*[str(v) for v in row])
    Console(width=max(120, Console().width)).print(out)


@data_app.command("validate")
def data_validate(
    path: Annotated[Path, typer.Argument(help="Sleuth .txt, NiMARE .json or biomark folder.")],
) -> None:
    """Read and check a dataset; print its counts."""
    from biomark import pipeline

    summary = _run(lambda: pipeline.validate_data(path))
    for warning in summary.warnings:
        typer.echo(f"warning: {warning}", err=True)
    spaces = ", ".join(f"{k} {v}" for k, v in summary.spaces.items())
    typer.echo(
        f"{summary.path}: valid — {summary.n_experiments} experiments, {summary.n_foci} foci, "
        f"{summary.n_subjects} subjects ({spaces}); {summary.n_excluded} excluded by the "
        "inclusion criteria"
    )


@data_app.command("convert")
def data_convert(
    source: Annotated[Path, typer.Argument(help="Input dataset.")],
    target: Annotated[Path, typer.Argument(help="Output file (.txt/.json) or folder (tsv).")],
    to: Annotated[str, typer.Option("--to", help="sleuth | nimare | tsv")],
) -> None:
    """Convert a dataset between Sleuth text, NiMARE JSON and biomark's TSV pair."""
    from biomark import pipeline

    if to not in FORMATS:
        typer.echo(
            f"biomark: error: --to must be one of {', '.join(FORMATS)}; got {to!r}", err=True
        )
        raise typer.Exit(EXIT_USER_ERROR)
    written = _run(lambda: pipeline.convert_data(source, target, to))
    typer.echo(f"wrote {written}")


@app.command("families")
def families(
    data: Annotated[
        Path | None, typer.Option("--data", help="Dataset (default: the embedded one).")
    ] = None,
) -> None:
    """Print each model family with its experiment, subject and focus counts."""
    from biomark import pipeline

    table = _run(lambda: pipeline.families(data))
    _print_table(table)


@app.command("simulate")
def simulate(
    out: Annotated[Path, typer.Option("--out", help="Output folder.")],
    seed: Annotated[int, typer.Option("--seed", help="Random seed.")] = 20140382,
) -> None:
    """Regenerate the simulated stroke dataset (byte for byte for a given seed)."""
    from biomark import pipeline

    written = _run(lambda: pipeline.simulate(seed, out))
    typer.echo(f"wrote simulated dataset (seed {seed}) to {written}")


Iterations = Annotated[
    int, typer.Option("--iterations", help="Monte Carlo iterations / permutations.")
]
ClusterFormingP = Annotated[
    float, typer.Option("--cluster-forming-p", help="Voxel p forming clusters.")
]
ClusterP = Annotated[float, typer.Option("--cluster-p", help="Cluster-level FWE level.")]
Correction = Annotated[str, typer.Option("--correction", help="cfwe | vfwe | fdr | none")]
Connectivity = Annotated[int, typer.Option("--connectivity", help="6 | 18 | 26 neighbours.")]
Seed = Annotated[int, typer.Option("--seed", help="Random seed (same seed, same bytes).")]
Jobs = Annotated[int, typer.Option("--jobs", help="Local worker processes.")]
Draws = Annotated[int, typer.Option("--draws", help="Posterior draws per chain.")]
Tune = Annotated[int, typer.Option("--tune", help="Tuning steps per chain.")]
Chains = Annotated[int, typer.Option("--chains", help="Markov chains.")]
DaskScheduler = Annotated[
    str | None, typer.Option("--dask-scheduler", help="Join a running Dask scheduler (tcp://...).")
]
DaskLocal = Annotated[
    int | None, typer.Option("--dask-local", help="Start a local Dask cluster with N workers.")
]
Quiet = Annotated[bool, typer.Option("--quiet", help="No progress output.")]
TalTransform = Annotated[
    str,
    typer.Option(
        "--tal-transform",
        help="Talairach→MNI: lancaster_pooled (default), lancaster_spm, lancaster_fsl, brett.",
    ),
]


def _run_config(
    seed: int, jobs: int, dask_scheduler: str | None, dask_local: int | None
) -> RunConfig:
    """The one place a command's run options become a :class:`~biomark.config.RunConfig`."""
    from biomark.config import RunConfig

    return RunConfig(seed=seed, jobs=jobs, dask_scheduler=dask_scheduler, dask_local=dask_local)


def _ale_config(
    iterations: int, cluster_forming_p: float, cluster_p: float, correction: str,
    connectivity: int, tal_transform: str = "lancaster_pooled",
) -> Any:  # fmt: skip
    from biomark.config import AleConfig

    if correction not in ("cfwe", "vfwe", "fdr", "none"):
        _usage(f"--correction must be cfwe, vfwe, fdr or none; got {correction!r}")
    if connectivity not in (6, 18, 26):
        _usage(f"--connectivity must be 6, 18 or 26; got {connectivity}")
    if iterations < 1:
        _usage(f"--iterations must be >= 1; got {iterations}")
    transforms = ("lancaster_pooled", "lancaster_spm", "lancaster_fsl", "brett")
    if tal_transform not in transforms:
        _usage(f"--tal-transform must be one of {', '.join(transforms)}; got {tal_transform!r}")
    for name, p in (("--cluster-forming-p", cluster_forming_p), ("--cluster-p", cluster_p)):
        if not 0 < p < 1:
            _usage(f"{name} must lie between 0 and 1; got {p}")
    return AleConfig(
        iterations=iterations, cluster_forming_p=cluster_forming_p, cluster_p=cluster_p,
        correction=correction,  # type: ignore[arg-type]
        connectivity=connectivity,  # type: ignore[arg-type]
        tal_transform=tal_transform,  # type: ignore[arg-type]
    )  # fmt: skip


def _usage(message: str) -> None:
    typer.echo(f"biomark: error: {message}", err=True)
    raise typer.Exit(EXIT_USER_ERROR)


def _with_progress(quiet: bool, action: Callable[[Any], Any]) -> Any:
    """Run ``action(progress_callback)`` under a rich progress bar (none when quiet)."""
    if quiet:
        return _run(lambda: action(None))
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

    with Progress(
        "[progress.description]{task.description}", BarColumn(), MofNCompleteColumn(),
        TimeRemainingColumn(), transient=True,
    ) as bar:  # fmt: skip
        task = bar.add_task("Monte Carlo", total=None)

        def update(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        return _run(lambda: action(update))


@app.command("ale")
def ale(
    dataset: Annotated[Path, typer.Argument(help="Sleuth .txt, NiMARE .json or biomark folder.")],
    out: Annotated[Path, typer.Option("--out", help="Output folder (replaced atomically).")],
    iterations: Iterations = 10000,
    cluster_forming_p: ClusterFormingP = 0.001,
    cluster_p: ClusterP = 0.05,
    correction: Correction = "cfwe",
    connectivity: Connectivity = 6,
    seed: Seed = 0,
    jobs: Jobs = 1,
    dask_scheduler: DaskScheduler = None,
    dask_local: DaskLocal = None,
    quiet: Quiet = False,
    tal_transform: TalTransform = "lancaster_pooled",
) -> None:
    """Classic ALE of one dataset: maps, labelled clusters, provenance."""
    from biomark.pipeline.ale import run_ale

    config = _ale_config(
        iterations, cluster_forming_p, cluster_p, correction, connectivity, tal_transform
    )
    run = _run_config(seed, jobs, dask_scheduler, dask_local)
    summary = _with_progress(quiet, lambda p: run_ale(dataset, out, config, run, p))
    for warning in summary["warnings"]:
        typer.echo(f"warning: {warning}", err=True)
    if not quiet:
        typer.echo(
            f"ALE of {summary['n_experiments']} experiments ({summary['n_foci']} foci): "
            f"{summary['n_clusters']} significant clusters; wrote {summary['out']}"
        )


@app.command("contrast")
def contrast(
    dataset_a: Annotated[Path, typer.Argument(help="Group A dataset.")],
    dataset_b: Annotated[Path, typer.Argument(help="Group B dataset.")],
    out: Annotated[Path, typer.Option("--out", help="Output folder (replaced atomically).")],
    iterations: Iterations = 10000,
    cluster_forming_p: ClusterFormingP = 0.001,
    cluster_p: ClusterP = 0.05,
    correction: Correction = "cfwe",
    connectivity: Connectivity = 6,
    seed: Seed = 0,
    jobs: Jobs = 1,
    dask_scheduler: DaskScheduler = None,
    dask_local: DaskLocal = None,
    quiet: Quiet = False,
    tal_transform: TalTransform = "lancaster_pooled",
) -> None:
    """ALE subtraction (A − B, B − A) and conjunction of two datasets."""
    from biomark.pipeline.ale import run_contrast

    config = _ale_config(
        iterations, cluster_forming_p, cluster_p, correction, connectivity, tal_transform
    )
    run = _run_config(seed, jobs, dask_scheduler, dask_local)
    summary = _with_progress(
        quiet, lambda p: run_contrast(dataset_a, dataset_b, out, config, run, p)
    )
    for warning in summary["warnings"]:
        typer.echo(f"warning: {warning}", err=True)
    if not quiet:
        counts = ", ".join(f"{k} {v}" for k, v in summary["clusters"].items())
        typer.echo(f"clusters: {counts}; wrote {summary['out']}")


@app.command("report")
def report(
    family: Annotated[
        str,
        typer.Option("--family", help="group | time | outcome | shift | subcortical | task | all"),
    ],
    data: Annotated[
        Path | None, typer.Option("--data", help="Dataset (default: the embedded one).")
    ] = None,
    out: Annotated[
        Path | None, typer.Option("--out", help="Output folder (default: reports/<family>/).")
    ] = None,
    fmt: Annotated[str, typer.Option("--format", help="html,pdf")] = "html,pdf",
    iterations: Iterations = 10000,
    cluster_forming_p: ClusterFormingP = 0.001,
    cluster_p: ClusterP = 0.05,
    correction: Correction = "cfwe",
    connectivity: Connectivity = 6,
    seed: Seed = 0,
    jobs: Jobs = 1,
    dask_scheduler: DaskScheduler = None,
    dask_local: DaskLocal = None,
    quiet: Quiet = False,
    tal_transform: TalTransform = "lancaster_pooled",
    draws: Draws = 1000,
    tune: Tune = 1000,
    chains: Chains = 4,
) -> None:
    """Run a model family end to end and write its HTML and PDF biomarker report."""
    from biomark.pipeline.report import parse_formats, run_report

    sampler = _sampler(draws, tune, chains)
    formats = _run(lambda: parse_formats(fmt))
    config = _ale_config(
        iterations, cluster_forming_p, cluster_p, correction, connectivity, tal_transform
    )
    run = _run_config(seed, jobs, dask_scheduler, dask_local)
    summary = _with_stages(
        quiet, lambda p: run_report(family, data, out, formats, config, run, p, sampler)
    )
    for what, why in summary["skipped"]:
        # said even with --quiet: a reader of the report must know what it leaves out
        typer.echo(f"not run: {what} ({why})", err=True)
    if not quiet:
        files = ", ".join(f"report.{f}" for f in summary["formats"])
        note = " (simulated data)" if summary["simulated"] else ""
        typer.echo(f"wrote {files}{note} to {summary['out']}")


@app.command("shift")
def shift(
    dataset: Annotated[
        Path | None, typer.Argument(help="Dataset (default: the embedded one).")
    ] = None,
    out: Annotated[Path, typer.Option("--out", help="Output folder.")] = Path("shift_out"),
    roi: Annotated[str, typer.Option("--roi", help="mi | medial-pmc | all")] = "all",
    draws: Draws = 1000,
    tune: Tune = 1000,
    chains: Chains = 4,
    seed: Seed = 0,
) -> None:
    """Peak displacement: frequentist tests beside the Bayesian hierarchical model."""
    from biomark.pipeline.shift import run_shift

    sampler = _sampler(draws, tune, chains)
    summary = _run(lambda: run_shift(dataset, out, roi, sampler, seed))
    for name, diag in summary["diagnostics"].items():
        typer.echo(f"{name}: {diag.message}", err=not diag.ok)
    for name, skipped in summary["skipped"].items():
        for contrast, why in skipped:
            typer.echo(f"{name}: {contrast} vs healthy not compared: {why}")
    typer.echo(f"wrote {summary['out']}")


@app.command("predict")
def predict(
    mi_peak: Annotated[
        str, typer.Option("--mi-peak", help="Patient's ipsilesional MI peak X,Y,Z in MNI mm.")
    ],
    days: Annotated[
        float | None, typer.Option("--days", help="Days since stroke at the scan.")
    ] = None,
    posterior: Annotated[
        Path | None, typer.Option("--posterior", help="posterior.nc from 'biomark shift'.")
    ] = None,
    data: Annotated[
        Path | None, typer.Option("--data", help="Dataset to fit when no --posterior.")
    ] = None,
    n_subjects: Annotated[
        float, typer.Option("--n", help="Subjects behind the peak (1 = a single patient).")
    ] = 1.0,
    seed: Seed = 0,
) -> None:
    """Probability of good recovery for a new patient's MI activation peak."""
    from biomark.pipeline.shift import predict as run_predict

    try:
        xyz = tuple(float(v) for v in mi_peak.split(","))
    except ValueError:
        xyz = ()
    if len(xyz) != 3:
        _usage(f"--mi-peak expects three numbers X,Y,Z in mm; got {mi_peak!r}")
    result = _run(lambda: run_predict(xyz, days, posterior, data, seed, n_subjects))  # type: ignore[arg-type]
    typer.echo(
        f"P(good recovery) = {result.probability:.2f} "
        f"({100 * result.ci_prob:.0f} % interval {result.hdi_low:.2f} to {result.hdi_high:.2f}); "
        f"peak {result.observed_displacement_mm:+.1f} mm ventral of the healthy mean (N = "
        f"{result.n_subjects:g}; its error allowed for: latent displacement "
        f"{result.latent_displacement_mm:+.1f} mm)"
    )
    if result.note:
        typer.echo(f"note: {result.note}")


def _with_stages(quiet: bool, action: Callable[[Any], Any]) -> Any:
    """Like :func:`_with_progress`, with one bar per named stage."""
    if quiet:
        return _run(lambda: action(None))
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

    with Progress(
        "[progress.description]{task.description}", BarColumn(), MofNCompleteColumn(),
        TimeRemainingColumn(), transient=True,
    ) as bar:  # fmt: skip
        tasks: dict[str, Any] = {}

        def update(stage: str, done: int, total: int) -> None:
            if stage not in tasks:
                tasks[stage] = bar.add_task(stage, total=total)
            bar.update(tasks[stage], completed=done, total=total)

        return _run(lambda: action(update))


PowerDesignName = Annotated[
    str, typer.Option("--design", help="Design preset (outcome: 9 good vs 5 poor experiments).")
]
PowerOut = Annotated[Path, typer.Option("--out", help="Output folder (replaced atomically).")]
PowerReplicates = Annotated[
    int | None,
    typer.Option("--replicates", help="Simulated meta-analyses for ALE (Welch: 2,000/shift)."),
]
PowerIterations = Annotated[
    int | None, typer.Option("--iterations", help="Monte Carlo iterations of the ALE null.")
]
GroupA = Annotated[
    int | None, typer.Option("--n-a", help="Experiments in group a (good outcome in 'outcome').")
]
GroupB = Annotated[
    int | None, typer.Option("--n-b", help="Experiments in group b (sizes and foci recycle).")
]


def _power_overrides(**given: Any) -> dict[str, Any]:
    for name, value in given.items():
        if value is not None and value < 0:
            _usage(f"--{name.replace('_', '-')} must be >= 0; got {value}")
    return given


@app.command("power")
def power(
    design: PowerDesignName = "outcome",
    out: PowerOut = Path("power_out"),
    n_a: GroupA = None,
    n_b: GroupB = None,
    shift_mm: Annotated[
        float | None, typer.Option("--shift-mm", help="Planted ventral MI shift (mm).")
    ] = None,
    replicates: PowerReplicates = None,
    bayes_replicates: Annotated[
        int | None, typer.Option("--bayes-replicates", help="Bayesian fits (0 = none).")
    ] = None,
    iterations: PowerIterations = None,
    seed: Seed = 0,
    jobs: Jobs = 1,
    dask_scheduler: DaskScheduler = None,
    dask_local: DaskLocal = None,
    quiet: Quiet = False,
) -> None:
    """Power of ALE, the Welch shift test and the Bayesian model for a design, by simulation."""
    from biomark.pipeline.power import run_power

    overrides = _power_overrides(
        n_a=n_a, n_b=n_b, shift_mm=shift_mm, replicates=replicates,
        bayes_replicates=bayes_replicates, ale_iterations=iterations,
    )  # fmt: skip
    run = _run_config(seed, jobs, dask_scheduler, dask_local)
    summary = _with_stages(quiet, lambda p: run_power(design, out, run, overrides, p))
    typer.echo(f"SIMULATION: {summary['summary']}")
    if not quiet:
        typer.echo(f"{summary['caveat']}\nwrote {summary['out']} ({summary['seconds']:.0f} s)")


@app.command("calibrate")
def calibrate(
    design: PowerDesignName = "outcome",
    out: PowerOut = Path("calibrate_out"),
    replicates: PowerReplicates = None,
    iterations: PowerIterations = None,
    splits: Annotated[
        int | None, typer.Option("--splits", help="Null splits tested by the contrast.")
    ] = None,
    seed: Seed = 0,
    jobs: Jobs = 1,
    dask_scheduler: DaskScheduler = None,
    dask_local: DaskLocal = None,
    quiet: Quiet = False,
) -> None:
    """Null false-positive rates of cluster-level FWE ALE and the subtraction contrast."""
    from biomark.pipeline.power import run_calibrate

    overrides = _power_overrides(
        replicates=replicates, ale_iterations=iterations, contrast_splits=splits
    )
    run = _run_config(seed, jobs, dask_scheduler, dask_local)
    summary = _with_stages(quiet, lambda p: run_calibrate(design, out, run, overrides, p))
    if not quiet:
        table = summary["result"].estimates
        _print_table(table[["method", "quantity", "estimate", "mcse", "replicates"]].round(4))
        typer.echo(f"wrote {summary['out']} ({summary['seconds']:.0f} s)")


class _Terminated(SystemExit):
    """SIGTERM/SIGINT as an exit that unwinds ``with`` blocks, so staged outputs are removed.

    SystemExit, not KeyboardInterrupt: PyMC catches KeyboardInterrupt while sampling and
    returns a partial trace, which would then be reported as if complete.
    """


def _on_signal(signum: int, frame: object) -> None:
    signal.signal(signum, signal.SIG_DFL)  # a second signal ends the process at once
    raise _Terminated(128 + signum)


def main() -> None:
    """Console-script entry point."""
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, _on_signal)
    try:
        app(prog_name="biomark", standalone_mode=True)
    except _Terminated as exc:
        typer.echo("biomark: interrupted; earlier outputs were left unchanged", err=True)
        raise SystemExit(exc.code) from None


if __name__ == "__main__":  # pragma: no cover
    main()
