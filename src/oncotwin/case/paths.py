"""File paths in a case file: relative to the case file, resolved and required to exist."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import ValidationInfo


def _resolved(value: Any, info: ValidationInfo) -> Path:
    if not isinstance(value, (str, Path)) or not str(value).strip():
        raise ValueError("expected a file path (relative to the case file)")
    base = Path((info.context or {}).get("base_dir", "."))
    path = Path(value).expanduser()
    return (path if path.is_absolute() else (base / path)).resolve()


def resolve_folder(value: Any, info: ValidationInfo) -> Path:
    """``value`` resolved as :func:`resolve_path` does, required to be an existing folder."""
    path = _resolved(value, info)
    if not path.is_dir():
        raise ValueError(f"folder not found: {path}")
    return path


def resolve_path(value: Any, info: ValidationInfo) -> Path:
    """``value`` resolved against the ``base_dir`` of the validation context (the case file's folder).

    Raises:
        ValueError: not a path, or no file there.
    """
    path = _resolved(value, info)
    if not path.is_file():
        raise ValueError(f"file not found: {path}")
    return path
