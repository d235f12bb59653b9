"""The ``biomark`` command line: parse options, call :mod:`biomark.pipeline`, print results.

Errors the user caused are printed as one line on stderr with exit code 2, never a traceback.
Heavy modules are imported inside the commands so that ``biomark --help`` starts fast.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer

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
    seed: Annotated[int, typer.Option("--seed", help="Random seed.")] = 20140301,
) -> None:
    """Regenerate the simulated stroke dataset (byte for byte for a given seed)."""
    from biomark import pipeline

    written = _run(lambda: pipeline.simulate(seed, out))
    typer.echo(f"wrote simulated dataset (seed {seed}) to {written}")


def main() -> None:
    """Console-script entry point."""
    app(prog_name="biomark")


if __name__ == "__main__":  # pragma: no cover
    main()
