"""Every file of the malformed corpus gives one clear InputError naming the file and line."""

from __future__ import annotations

from pathlib import Path

import pytest

from biomark.errors import InputError
from biomark.io.datasets import load_dataset
from tests.io.malformed_cases import CASES, MALFORMED_DIR


@pytest.mark.parametrize(("filename", "line", "phrase"), CASES, ids=[c[0] for c in CASES])
def test_malformed_file_gives_clear_error(filename: str, line: int | None, phrase: str) -> None:
    path = MALFORMED_DIR / filename
    assert path.exists(), f"corpus file missing: {path} (run make_corpus.py)"
    with pytest.raises(InputError) as info:
        load_dataset(path)
    err = info.value
    message = str(err)
    assert "\n" not in message and "\r" not in message
    assert phrase in message
    stem = Path(filename).stem
    assert err.source is not None and stem in err.source
    if filename.startswith("sidecar_"):
        assert err.source.endswith(f"{stem}.metadata.tsv")
    assert err.line == line
    # the message starts with the location: file[:line]:
    where = f"{err.source}:{line}:" if line is not None else f"{err.source}:"
    assert message.startswith(where)


def test_corpus_is_large_and_complete() -> None:
    names = [c[0] for c in CASES]
    assert len(names) >= 30
    assert len(set(names)) == len(names)
    on_disk = {
        p.name
        for p in MALFORMED_DIR.iterdir()
        if p.suffix not in (".py", ".md") and not p.name.endswith(".metadata.tsv")
    }
    assert on_disk == set(names)


def test_phrases_are_specific() -> None:
    # each defect has its own message: no phrase is shared by cases with different defects,
    # except the deliberate pairs that test one check on two spellings of the defect
    phrases = [c[2] for c in CASES]
    shared = {p for p in phrases if phrases.count(p) > 1}
    assert shared <= {
        "empty file",
        "expected 3 coordinates (x y z), got 2",
        "'Smith 2010: tapping' has no foci",
    }
