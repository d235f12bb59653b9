from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from tests.report.sample import SAMPLE_JSON

XSS = '<script>alert(1)</script><img src="file:///etc/passwd">'


@pytest.fixture(scope="session")
def _stored_sample() -> dict[str, Any]:
    return json.loads(SAMPLE_JSON.read_text(encoding="utf-8"))


@pytest.fixture
def sample_ctx(_stored_sample: dict[str, Any]) -> dict[str, Any]:
    """A fresh deep copy of the stored sample context (tests may mutate it)."""
    return copy.deepcopy(_stored_sample)


def inject_xss(ctx: dict[str, Any]) -> dict[str, Any]:
    """Put the hostile study name where user-supplied names end up in the report."""
    ctx["flow"]["audit"]["rows"][0]["study_id"] = XSS
    ctx["ale"][0]["title"] = XSS
    ctx["summary"]["findings"][0]["headline"] = XSS
    ctx["provenance"]["inputs"][0]["name"] = XSS
    return ctx
