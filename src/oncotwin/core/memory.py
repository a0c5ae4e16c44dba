"""Process allocator policy: freed memory stays in the process for the next allocation.

A finite-element set-up allocates and frees arrays of hundreds of MB in turn (dofmaps, the sparsity
pattern's row lists, packed coefficients, coefficient vectors, the CSR matrix). glibc's malloc serves
every block above its mmap threshold (at most 32 MB) with a fresh ``mmap`` and returns it to the kernel
when freed, so each new array is zero-filled page by page again. On the project's virtual machines a
page fault costs ~4 us (freed pages go back to the host), and a fresh 1M-dof fluid problem spent a third
of its wall time in the kernel: 0.56 million faults, 2 s of system time in 6.4 s (BENCHMARKS.md "Fluid
constructor throughput (issue 21)"). Serving blocks up to 1 GiB from the heap and never trimming it lets
later arrays reuse the pages of earlier ones (faults 0.55M -> 0.1M); the peak footprint stays about the
same (+2 % measured: the memory is reused, not added), but the resident size no longer shrinks after a peak.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os

_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3
_HEAP_BLOCKS_UP_TO = 1 << 30  # bytes
_NEVER_TRIM = (1 << 31) - 1  # bytes (mallopt takes an int)
# glibc's own settings (environment) win over the policy
_USER_SETTINGS = ("MALLOC_TRIM_THRESHOLD_", "MALLOC_MMAP_THRESHOLD_", "MALLOC_TOP_PAD_", "GLIBC_TUNABLES")


def retain_freed_memory() -> bool:
    """Apply the policy (glibc only; idempotent). Returns whether it is in effect.

    Not applied when the environment sets glibc's malloc options itself, e.g.
    ``MALLOC_TRIM_THRESHOLD_=131072`` to return memory to the system as glibc does by default.
    """
    if any(name in os.environ for name in _USER_SETTINGS):
        return False
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name)
        mallopt = libc.mallopt
    except (OSError, AttributeError, TypeError):  # not glibc (musl, macOS): nothing to tune
        return False
    mallopt.argtypes, mallopt.restype = (ctypes.c_int, ctypes.c_int), ctypes.c_int
    return bool(mallopt(_M_MMAP_THRESHOLD, _HEAP_BLOCKS_UP_TO) and mallopt(_M_TRIM_THRESHOLD, _NEVER_TRIM))
