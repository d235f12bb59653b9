"""Outputs appear atomically: a failed or interrupted run leaves earlier outputs as they were."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from biomark.errors import InputError


class staged_output:
    """Write into a temporary sibling folder; replace ``target`` only when the block succeeds.

    A failed or interrupted run leaves an existing ``target`` exactly as it was.
    """

    def __init__(self, target: Path) -> None:
        self.target = target
        self.tmp: Path | None = None

    def __enter__(self) -> Path:
        parent = self.target.resolve().parent
        if parent.exists() and not parent.is_dir():
            raise InputError("output parent is not a folder", source=parent)
        parent.mkdir(parents=True, exist_ok=True)
        if self.target.exists() and not self.target.is_dir():
            raise InputError("output exists and is not a folder", source=self.target)
        self.tmp = Path(tempfile.mkdtemp(prefix=f".{self.target.name}.tmp-", dir=parent))
        return self.tmp

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        if self.tmp is None:
            return
        if exc_type is not None:
            shutil.rmtree(self.tmp, ignore_errors=True)
            return
        old = None
        if self.target.exists():
            old = self.target.with_name(f".{self.target.name}.old-{os.getpid()}")
            self.target.replace(old)
        self.tmp.replace(self.target)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
