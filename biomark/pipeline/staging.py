"""Outputs appear atomically: a failed or interrupted run leaves earlier outputs as they were."""

from __future__ import annotations

import os
import shutil
import signal
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
        # A signal between the two renames would leave no target at all: hold them until both
        # are done (delivered right after, when the new output is already in place).
        blocked = {signal.SIGINT, signal.SIGTERM}
        previous = signal.pthread_sigmask(signal.SIG_BLOCK, blocked)
        try:
            if self.target.exists():
                old = self.target.with_name(f".{self.target.name}.old-{os.getpid()}")
                self.target.replace(old)
            self.tmp.replace(self.target)
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, previous)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
