"""The allocator policy: applied on glibc unless the environment sets glibc's malloc options."""

from __future__ import annotations

import ctypes.util

import pytest

from oncotwin.core.memory import retain_freed_memory


def test_glibc_settings_in_the_environment_win(monkeypatch):
    monkeypatch.setenv("MALLOC_TRIM_THRESHOLD_", "131072")
    assert retain_freed_memory() is False


def test_policy_applies_on_glibc(monkeypatch):
    for name in ("MALLOC_TRIM_THRESHOLD_", "MALLOC_MMAP_THRESHOLD_", "MALLOC_TOP_PAD_", "GLIBC_TUNABLES"):
        monkeypatch.delenv(name, raising=False)
    lib = ctypes.util.find_library("c")
    if lib is None or not hasattr(ctypes.CDLL(lib), "gnu_get_libc_version"):
        pytest.skip("not glibc")
    assert retain_freed_memory() is True
