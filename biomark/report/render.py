"""Render a report context to one self-contained HTML file, and HTML to PDF with WeasyPrint.

Templates and ``report.css`` are found only through :func:`biomark.io.resources.templates_dir`.
The Jinja environment escapes every value (autoescape on) and fails on any missing key
(``StrictUndefined``). The HTML carries its CSS inline and its figures as ``data:`` URIs, so it
opens anywhere without other files.

WeasyPrint is imported lazily. Its resources are fetched by :class:`SafeURLFetcher`, which serves
only ``data:`` URIs and files inside the templates folder and refuses everything else (http(s),
``file://`` elsewhere, ftp, …); a PDF whose HTML asked for a refused resource is not written.
"""

from __future__ import annotations

import logging
import mimetypes
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Final
from urllib.parse import unquote, urlsplit

import jinja2
from markupsafe import Markup

from biomark.errors import RenderError
from biomark.io.resources import templates_dir
from biomark.report.context import validate_context
from biomark.report.filters import register_filters

TEMPLATE: Final = "report.html.j2"
STYLESHEET: Final = "report.css"


def make_environment() -> jinja2.Environment:
    """The report's Jinja environment: templates folder, autoescape, StrictUndefined, filters."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(templates_dir()),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    register_filters(env)
    return env


def render_html(context: Mapping[str, Any]) -> str:
    """Render a validated report context to a self-contained HTML document.

    Parameters
    ----------
    context
        A report context (schema in :mod:`biomark.report.context`); it is validated first.

    Returns
    -------
    str
        The HTML, with the CSS inlined and figures embedded as data URIs.

    Raises
    ------
    InputError
        The context does not match the schema.
    RenderError
        A template failed (e.g. it read a key the context lacks).
    """
    ctx = validate_context(context)
    css = (templates_dir() / STYLESHEET).read_text(encoding="utf-8")
    try:
        template = make_environment().get_template(TEMPLATE)
        # Our own stylesheet is trusted markup; everything from the context is escaped.
        return template.render(ctx=ctx, css=Markup(css))
    except jinja2.TemplateError as err:
        raise RenderError(f"report template failed: {err}") from err


def _is_inside(path: Path, folder: Path) -> bool:
    try:
        path.resolve().relative_to(folder.resolve())
    except ValueError:
        return False
    return True


def _fetcher_class() -> type:
    from weasyprint.urls import URLFetcher, URLFetcherResponse

    class _SafeURLFetcher(URLFetcher):  # type: ignore[misc]
        def __init__(self, assets_dir: Path) -> None:
            super().__init__(allowed_protocols=("data", "file"), fail_on_errors=False)
            self.assets_dir = assets_dir
            self.refused: list[str] = []

        def fetch(self, url: str, headers: Any = None) -> Any:
            parts = urlsplit(url)
            scheme = parts.scheme.lower()
            if scheme == "data":
                return super().fetch(url, headers)
            if scheme == "file" and parts.netloc in ("", "localhost"):
                path = Path(unquote(parts.path))
                if _is_inside(path, self.assets_dir) and path.is_file():
                    mime = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
                    return URLFetcherResponse(
                        path.as_uri(), path.read_bytes(), {"Content-Type": mime}
                    )
            self.refused.append(url)
            raise PermissionError(f"biomark report refuses to fetch {url!r}")

    return _SafeURLFetcher


def safe_url_fetcher(assets_dir: Path | None = None) -> Any:
    """A WeasyPrint URL fetcher that serves only ``data:`` URIs and files inside ``assets_dir``.

    Parameters
    ----------
    assets_dir
        The only folder whose files may be read (default: the templates folder).

    Returns
    -------
    weasyprint.urls.URLFetcher
        A fetcher whose ``refused`` attribute lists every URL it refused (it raises
        :class:`PermissionError` for them, which WeasyPrint turns into a skipped resource).
    """
    return _fetcher_class()(assets_dir or templates_dir())


def render_pdf(html: str, path: str | Path) -> Path:
    """Render report HTML to a PDF file with WeasyPrint (A4, print CSS from the HTML).

    Parameters
    ----------
    html
        HTML from :func:`render_html`.
    path
        Where to write the PDF; its folder must exist.

    Returns
    -------
    pathlib.Path
        ``path``.

    Raises
    ------
    RenderError
        The HTML asked for a resource the safe fetcher refused (nothing is written), or
        WeasyPrint failed.
    """
    from weasyprint import HTML

    out = Path(path)
    fetcher = safe_url_fetcher()
    # WeasyPrint logs each refused fetch as a warning; the refusal is reported as an error below.
    logger = logging.getLogger("weasyprint")
    previous = logger.level
    logger.setLevel(logging.ERROR)
    try:
        document = HTML(string=html, base_url=templates_dir().as_uri() + "/", url_fetcher=fetcher)
        pdf = document.write_pdf()
    except Exception as err:
        raise RenderError(f"PDF rendering failed: {err}") from err
    finally:
        logger.setLevel(previous)
    if fetcher.refused:
        raise RenderError(
            f"the report HTML asked for {len(fetcher.refused)} resource(s) outside the report "
            f"assets, e.g. {fetcher.refused[0]!r}; no PDF was written"
        )
    out.write_bytes(pdf)
    return out
