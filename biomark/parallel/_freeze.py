"""Imported last by the fork server: moves what it imported out of the garbage collector's reach.

A forked worker shares its parent's memory until a page is written; a collection in the worker
writes to the header of every object it scans, copying those pages. Frozen objects are not
scanned (Python docs, ``gc.freeze``), so the workers keep sharing the fork server's imports.
"""

import gc

gc.freeze()
