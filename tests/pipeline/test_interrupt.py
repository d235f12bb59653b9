"""An interrupted or failed ``biomark report`` leaves the previous report exactly as it was.

A first run writes a complete report; a second run into the same folder is then stopped with
SIGTERM while it is writing its staging folder (the hidden ``.<name>.tmp-*`` sibling that
:mod:`biomark.pipeline.staging` creates), or fails on a bad ``--data`` file, or fails while
rendering the PDF. Every file of the first report must keep its bytes and modification time, and
no staging or swap folder may be left behind.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from biomark.cli import app
from biomark.errors import RenderError

MALFORMED = Path(__file__).resolve().parent.parent / "data" / "malformed"
ARGS = ["report", "--family", "time", "--iterations", "50", "--format", "html,pdf", "--quiet"]
TIMEOUT_S = 300.0


def _command(out: Path, seed: int, *extra: str) -> list[str]:
    return [sys.executable, "-m", "biomark.cli", *ARGS, "--seed", str(seed), "--out", str(out),
            *extra]  # fmt: skip


Snapshot = dict[str, tuple[bytes, int]]


def _snapshot(folder: Path) -> Snapshot:
    """Every file under ``folder``: its bytes and modification time (ns)."""
    return {
        str(p.relative_to(folder)): (p.read_bytes(), p.stat().st_mtime_ns)
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def _leftovers(out: Path) -> list[str]:
    """Staging (``.<name>.tmp-*``) or swap (``.<name>.old-*``) folders beside ``out``."""
    return sorted(p.name for p in out.parent.iterdir() if p.name.startswith(f".{out.name}."))


@pytest.fixture(scope="module")
def _completed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("interrupt") / "time"
    proc = subprocess.run(_command(out, 1), capture_output=True, text=True, timeout=TIMEOUT_S)
    assert proc.returncode == 0, proc.stderr
    return out


@pytest.fixture
def previous(_completed: Path, tmp_path: Path) -> tuple[Path, Snapshot]:
    """A private copy of a completed report in ``<tmp>/time``, and its snapshot."""
    out = tmp_path / "time"
    shutil.copytree(_completed, out)
    snap = _snapshot(out)
    assert {"report.html", "report.pdf", "context.json"} <= snap.keys()
    return out, snap


def _assert_untouched(out: Path, snap: Snapshot) -> None:
    now = _snapshot(out)
    assert now.keys() == snap.keys()
    changed = [name for name in snap if now[name] != snap[name]]
    assert changed == []
    assert _leftovers(out) == []


def test_sigterm_while_staging_keeps_previous_report(previous: tuple[Path, Snapshot]) -> None:
    out, snap = previous
    proc = subprocess.Popen(_command(out, 2), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)  # fmt: skip
    deadline = time.monotonic() + TIMEOUT_S
    # The staging folder appears only after the analyses are done, while the outputs are written.
    while not any(name.startswith(f".{out.name}.tmp-") for name in _leftovers(out)):
        assert proc.poll() is None, f"run ended before staging was seen: {proc.communicate()}"
        assert time.monotonic() < deadline, "no staging folder appeared"
        time.sleep(0.005)
    os.kill(proc.pid, signal.SIGTERM)
    _, stderr = proc.communicate(timeout=60)
    assert proc.returncode != 0
    assert "Traceback" not in stderr
    assert len(stderr.strip().splitlines()) <= 1, stderr
    _assert_untouched(out, snap)


def test_bad_data_keeps_previous_report(previous: tuple[Path, Snapshot]) -> None:
    out, snap = previous
    bad = MALFORMED / "focus_two_columns.txt"
    proc = subprocess.run(_command(out, 3, "--data", str(bad)), capture_output=True, text=True,
                          timeout=TIMEOUT_S)  # fmt: skip
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr and len(proc.stderr.strip().splitlines()) == 1
    assert "focus_two_columns.txt" in proc.stderr
    _assert_untouched(out, snap)


@pytest.mark.slow
def test_pdf_failure_while_staging_keeps_previous_report(
    previous: tuple[Path, Snapshot], monkeypatch: pytest.MonkeyPatch
) -> None:
    out, snap = previous
    staged: list[Path] = []

    def broken_pdf(html: str, path: str | Path) -> Path:
        staged.append(Path(path).parent)
        (Path(path).parent / "report.pdf").write_bytes(b"%PDF-1.7 half written")
        raise RenderError("PDF rendering failed: planted failure")

    monkeypatch.setattr("biomark.report.render.render_pdf", broken_pdf)
    result = CliRunner().invoke(app, [*ARGS, "--seed", "4", "--out", str(out)])
    assert result.exit_code == 2, result.output
    assert "planted failure" in result.stderr
    # the failure happened inside the staging folder, which is gone again
    assert len(staged) == 1 and staged[0].name.startswith(f".{out.name}.tmp-")
    assert not staged[0].exists()
    _assert_untouched(out, snap)
