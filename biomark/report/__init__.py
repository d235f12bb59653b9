"""The report layer: context (plain JSON-able dict) → HTML (Jinja2) → PDF (WeasyPrint).

``context`` builds and validates the dict, ``filters`` formats numbers, ``figures`` draws PNGs
(the only plotting module), ``render`` renders. Heavy imports (matplotlib, nilearn, WeasyPrint)
happen inside the functions that need them; this package never imports PyMC.
"""

from biomark.report.context import validate_context
from biomark.report.render import render_html, render_pdf

__all__ = ["render_html", "render_pdf", "validate_context"]
