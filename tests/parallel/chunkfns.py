"""Top-level chunk functions the worker processes can import."""

from biomark.parallel import chunk_rng


def draw(spec, k):
    seed, size = spec
    return chunk_rng(seed, k).standard_normal(size)
