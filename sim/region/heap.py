"""Keep a Dask worker's memory allocator as fast as a plain process's for numpy's large temporaries.

Dask's nanny starts each worker with MALLOC_TRIM_THRESHOLD_=65536. Setting it also fixes glibc's
mmap threshold at 128 KiB, so every large array a day makes is mapped and unmapped afresh, with
its pages zeroed by the kernel each time: 12 times the page faults of a plain process (measured
on a Xinxiang run), and areas step up to twice as slowly. `restore_fast_heap` gives back what
glibc does by default once it has seen large arrays freed (serve arrays up to 32 MiB from the
heap, keep up to twice that free). Memory a worker holds stays in proportion to its residents.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os

M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3   # glibc's mallopt parameters (malloc.h)
LARGEST_FROM_HEAP = 32 * 1024 * 1024          # glibc's own ceiling for its dynamic threshold


def restore_fast_heap() -> bool:
    """Undo a fixed malloc trim threshold in this process (glibc only); True if it was undone."""
    if "MALLOC_TRIM_THRESHOLD_" not in os.environ:
        return False
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name) if name else None
    except OSError:
        libc = None
    if libc is None or not hasattr(libc, "mallopt"):
        return False
    return bool(libc.mallopt(M_MMAP_THRESHOLD, LARGEST_FROM_HEAP)) and bool(
        libc.mallopt(M_TRIM_THRESHOLD, 2 * LARGEST_FROM_HEAP))
