"""HTML rendering, escaping, the safe URL fetcher, and the PDF (banner on every page, no leaks)."""

from __future__ import annotations

import re
import shutil
import socket
import subprocess
from pathlib import Path
from typing import Any

import jinja2
import pytest

from biomark.errors import InputError, RenderError
from biomark.io.resources import templates_dir
from biomark.report.context import BANNER_TEXT
from biomark.report.render import make_environment, render_html, render_pdf, safe_url_fetcher
from tests.report.conftest import XSS, inject_xss
from tests.report.sample import tiny_png

URL_ATTR = re.compile(r"""\b(?:src|href)\s*=\s*["']?([^"'\s>]*)""", re.IGNORECASE)
ESCAPED_XSS = "&lt;script&gt;alert(1)&lt;/script&gt;&lt;img src=&#34;file:///etc/passwd&#34;&gt;"
needs_poppler = pytest.mark.skipif(shutil.which("pdftotext") is None, reason="needs poppler-utils")


@pytest.fixture(autouse=True)
def _no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("the report tried to use the network")

    monkeypatch.setattr(socket.socket, "connect", refuse)


def test_html_has_banner_and_is_self_contained(sample_ctx: dict[str, Any]) -> None:
    html = render_html(sample_ctx)
    assert f'<div class="banner" role="alert">{BANNER_TEXT}</div>' in html
    assert "<script" not in html.lower()
    assert "<link" not in html.lower()
    urls = URL_ATTR.findall(html)
    assert urls, "expected embedded figures"
    external = [u for u in urls if not (u.startswith("data:") or u.startswith("#"))]
    assert external == []
    assert "@page" in html  # print CSS inlined


def test_html_shows_every_section(sample_ctx: dict[str, Any]) -> None:
    html = render_html(sample_ctx)
    for heading in (
        "Summary for clinical readers",
        "Study flow",
        "ALE meta-analyses",
        "Peak displacement",
        "Methods",
        "Provenance",
        "Prior sensitivity",
    ):
        assert f">{heading}<" in html
    # The PMC region's sampler failed in the sample: the plain warning box must show.
    assert "The Bayesian results are not reliable" in html
    assert "Only 9 experiments" in html
    assert "\u221238, \u221222, 56" in html  # coordinate formatted by the filter


def test_no_banner_for_real_data(sample_ctx: dict[str, Any]) -> None:
    sample_ctx["simulated"] = False
    sample_ctx["banner"] = ""
    assert 'class="banner"' not in render_html(sample_ctx)


def test_hostile_names_are_escaped(sample_ctx: dict[str, Any]) -> None:
    html = render_html(inject_xss(sample_ctx))
    assert html.count(ESCAPED_XSS) == 4
    assert XSS not in html
    assert "<script" not in html.lower()
    assert not [u for u in URL_ATTR.findall(html) if u.startswith("file:")]


def test_invalid_context_is_rejected_before_rendering(sample_ctx: dict[str, Any]) -> None:
    del sample_ctx["methods"]
    with pytest.raises(InputError):
        render_html(sample_ctx)


def test_environment_is_strict_and_escapes() -> None:
    env = make_environment()
    assert env.from_string("{{ x }}").render(x="<b>") == "&lt;b&gt;"
    with pytest.raises(jinja2.UndefinedError):
        env.from_string("{{ ctx.missing }}").render(ctx={})


def test_fetcher_serves_data_uris_and_own_assets() -> None:
    fetcher = safe_url_fetcher()
    import base64

    uri = "data:image/png;base64," + base64.b64encode(tiny_png()).decode()
    assert fetcher.fetch(uri).read() == tiny_png()
    css = templates_dir() / "report.css"
    assert b"@page" in fetcher.fetch(css.as_uri()).read()
    assert fetcher.refused == []


@pytest.mark.parametrize(
    "url",
    [
        "file:///etc/passwd",
        "http://127.0.0.1:9/x.png",
        "https://example.org/x.css",
        "ftp://example.org/x",
        "file://remotehost/share/x.css",
    ],
)
def test_fetcher_refuses_everything_else(url: str) -> None:
    fetcher = safe_url_fetcher()
    with pytest.raises(PermissionError):
        fetcher.fetch(url)
    assert fetcher.refused == [url]


def test_fetcher_refuses_path_traversal() -> None:
    url = (templates_dir() / ".." / "pyproject.toml").as_uri()
    with pytest.raises(PermissionError):
        safe_url_fetcher().fetch(url)


def test_pdf_not_written_when_html_reaches_outside(tmp_path: Path) -> None:
    out = tmp_path / "bad.pdf"
    html = (
        '<html><head><link rel="stylesheet" href="http://127.0.0.1:9/x.css"></head>'
        '<body><p>hi</p><img src="file:///etc/passwd"></body></html>'
    )
    with pytest.raises(RenderError, match=r"outside the report assets"):
        render_pdf(html, out)
    assert not out.exists()


def _pdftotext(pdf: Path, page: int | None = None) -> str:
    args = ["pdftotext", "-layout"]
    if page is not None:
        args += ["-f", str(page), "-l", str(page)]
    return subprocess.run([*args, str(pdf), "-"], check=True, capture_output=True, text=True).stdout


def _page_count(pdf: Path) -> int:
    info = subprocess.run(["pdfinfo", str(pdf)], check=True, capture_output=True, text=True).stdout
    return int(re.search(r"^Pages:\s+(\d+)", info, re.MULTILINE).group(1))  # type: ignore[union-attr]


@pytest.fixture(scope="module")
def hostile_pdf(tmp_path_factory: pytest.TempPathFactory, _stored_sample: dict[str, Any]) -> Path:
    import copy

    ctx = inject_xss(copy.deepcopy(_stored_sample))
    return render_pdf(render_html(ctx), tmp_path_factory.mktemp("pdf") / "report.pdf")


@needs_poppler
def test_pdf_banner_on_every_page(hostile_pdf: Path) -> None:
    n_pages = _page_count(hostile_pdf)
    assert n_pages > 1
    for page in range(1, n_pages + 1):
        text = _pdftotext(hostile_pdf, page)
        assert BANNER_TEXT in text, f"no banner on page {page}"
        assert f"page {page} of {n_pages}" in text


@needs_poppler
def test_pdf_shows_hostile_name_as_text_and_leaks_nothing(hostile_pdf: Path) -> None:
    text = " ".join(_pdftotext(hostile_pdf).split())
    assert "<script>alert(1)</script>" in text
    assert "root:x:0:0" not in text
    assert "/bin/bash" not in text and "nologin" not in text


@pytest.mark.slow
@needs_poppler
def test_full_sample_with_real_figures(tmp_path: Path) -> None:
    from tests.report.sample import sample_context, with_real_figures

    html = render_html(with_real_figures(sample_context(), dpi=150))
    pdf = render_pdf(html, tmp_path / "full.pdf")
    images = subprocess.run(
        ["pdfimages", "-list", str(pdf)], check=True, capture_output=True, text=True
    ).stdout.splitlines()[2:]
    images = [line for line in images if line.split()[2] == "image"]  # not the alpha masks
    # 2 + 1 ALE figures, forest + densities per region, one outcome curve, one power curve
    assert len(images) == 3 + 2 * 2 + 1 + 1
    widths = [int(line.split()[3]) for line in images]
    assert min(widths) >= round(6.5 * 150) - 1
    n_pages = _page_count(pdf)
    for page in range(1, n_pages + 1):
        assert BANNER_TEXT in _pdftotext(pdf, page)
