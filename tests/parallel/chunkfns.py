"""Top-level chunk functions the worker processes can import."""

import os
import signal
import time
from pathlib import Path

from biomark.parallel import chunk_rng


def draw(spec, k):
    seed, size = spec
    return chunk_rng(seed, k).standard_normal(size)


def draw_killing_once(spec, k):
    """Like :func:`draw`, but chunk ``victim`` kills its worker process the first time it runs.

    ``spec = (seed, size, victim, marker_dir)``. The marker file written just before dying
    makes the recomputed chunk succeed; it also records the pid of the process that died.
    """
    seed, size, victim, marker_dir = spec
    marker = Path(marker_dir) / f"killed-{k}"
    if k == victim and not marker.exists():
        marker.write_text(str(os.getpid()))
        os.kill(os.getpid(), signal.SIGKILL)
    (Path(marker_dir) / f"ran-{k}-{os.getpid()}").touch()
    return chunk_rng(seed, k).standard_normal(size)


def draw_always_killing(spec, k):
    """Chunk ``victim`` kills every worker process that runs it."""
    seed, size, victim = spec
    if k == victim:
        os.kill(os.getpid(), signal.SIGKILL)
    return chunk_rng(seed, k).standard_normal(size)


def draw_slowly(spec, k):
    """Like :func:`draw` after sleeping ``delay_s`` (to keep a cluster busy)."""
    seed, size, delay_s = spec
    time.sleep(delay_s)
    return chunk_rng(seed, k).standard_normal(size)


def pid_after_sleep(spec, k):
    """The pid of the process that ran chunk ``k``, after sleeping ``spec`` seconds."""
    time.sleep(spec)
    return os.getpid()


def raise_oserror(spec, k):
    """A chunk function whose own OSError must reach the caller unchanged."""
    raise FileNotFoundError(f"chunk {k}: {spec}")


def fail_first_else_sleep(spec, k):
    """Chunk 0 fails at once; every other chunk sleeps ``spec`` seconds."""
    import time

    if k == 0:
        raise ValueError("chunk 0 failed")
    time.sleep(spec)
    return k
