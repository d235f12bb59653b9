"""Classic ALE engine in numpy/scipy, no file I/O: kernels, MA maps, nulls, FWE, FDR, contrasts."""
