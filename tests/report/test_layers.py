"""Importing the report layer pulls in no plotting, PDF or sampling library."""

from __future__ import annotations

import subprocess
import sys


def test_import_is_light() -> None:
    code = (
        "import sys, biomark.report, biomark.report.context, biomark.report.filters, "
        "biomark.report.render, biomark.report.figures\n"
        "heavy = [m for m in ('matplotlib', 'nilearn', 'weasyprint', 'pymc', 'pytensor') "
        "if m in sys.modules]\n"
        "print(','.join(heavy))"
    )
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True)
    assert out.stdout.strip() == ""
