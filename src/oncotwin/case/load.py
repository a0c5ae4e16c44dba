"""Read a YAML case file and validate it into a :class:`~oncotwin.case.schema.Case`.

Errors become one :class:`~oncotwin.core.errors.CaseError` naming the file, the key (dotted path), the value,
what is allowed and, where known, the line of the key in the file.

A case file may derive from another one with a top-level ``base: <path>`` (relative to the deriving file)::

    base: sphere_baxter_jain.yaml
    name: faster_growth
    physics: {growth: {proliferation_rate: "0.3 1/day"}}

The base (which may itself have a ``base``; loops are an error) is read first and the deriving file's keys
are merged on top: mappings merge key by key, any other value (list, scalar, ``null``) replaces the base's.
Relative paths anywhere in the merged case (images, meshes, ...) resolve against the folder of the *root*
case file, the one at the end of the chain without ``base``. Errors name the first file of the chain
(deriving file first) that writes the offending key, with its line. The hash of a derived case is the
SHA-256 of its bytes followed by its base's hash (hex), so a change to any file of the chain changes it.
"""

from __future__ import annotations

import hashlib
import typing
from pathlib import Path
from typing import Any

from mpi4py import MPI
from pydantic import BaseModel, ValidationError

from oncotwin.case.base import FieldProblem
from oncotwin.case.covariates import with_covariates
from oncotwin.case.schema import Case
from oncotwin.core.errors import CaseError
from oncotwin.core.hashing import file_sha256
from oncotwin.core.parallel import on_root
from oncotwin.core.safe_yaml import read_yaml


def _lookup(data: Any, loc: tuple) -> Any:
    for part in loc:
        try:
            data = data[part]
        except (KeyError, IndexError, TypeError):
            return None
    return data


def read_yaml_mapping(path: Path, what: str, kind: str = "case file") -> tuple[dict, dict[tuple, int]]:
    """Data and key line numbers of a YAML file holding a mapping (one-line :class:`CaseError` otherwise).

    The file is read within the limits of :func:`oncotwin.core.safe_yaml.read_yaml` (size, UTF-8, duplicate
    keys, aliases, nesting, integer length).

    Args:
        path: the file.
        what: what the document must be, for the error message.
        kind: the kind of file, for the missing-file message.
    """
    data, lines = read_yaml(path, kind)
    if not isinstance(data, dict):
        raise CaseError(str(path), "<document>", type(data).__name__, what)
    return data, lines


def read_case(path: str | Path) -> tuple[Case, str]:
    """Read and validate a case file on the calling rank.

    A file with ``base: <path>`` is merged onto its base (see the module docstring); relative paths in
    the merged case then resolve against the folder of the root case file (the one without ``base``).

    Returns:
        The validated case and its hash: the SHA-256 of the file, or for a derived file the SHA-256 of
        its bytes followed by its base's hash.

    Raises:
        CaseError: on any problem with a file of the chain or the merged content.
    """
    data, digest, base_dir, layers = _read_chain(Path(path), ())
    try:
        case = Case.model_validate(data, context={"base_dir": str(base_dir)})
    except ValidationError as exc:
        loc = _error_loc(exc.errors(include_url=False)[0])
        # the first file of the chain (deriving file first) that writes the deepest part of the key
        shown, lines = max(layers, key=lambda layer: _depth_in(layer[1], loc))
        raise _to_case_error(exc, shown, data, lines) from None
    # a population prior's covariates are evaluated once, on the validated case (they read its labels)
    source = case.calibration.prior if case.calibration is not None and case.calibration.prior else path
    return with_covariates(case, str(source)), digest


def read_case_data(path: str | Path) -> tuple[dict, str, Path]:
    """Raw (unvalidated) data of a case file, merged with its ``base`` chain.

    Returns:
        The merged data (without ``base``), the hash :func:`read_case` returns, and the folder that
        relative paths resolve against (that of the root case file, the one without ``base``).

    Raises:
        CaseError: on a missing, malformed or looping file of the chain.
    """
    data, digest, base_dir, _ = _read_chain(Path(path), ())
    return data, digest, base_dir


def _read_chain(path: Path, seen: tuple[Path, ...]) -> tuple[dict, str, Path, list[tuple[str, dict]]]:
    """Merged data, hash, root folder and ``(file, key lines)`` of each file, deriving file first."""
    shown = str(path)
    data, lines = read_yaml_mapping(path, "a case file is a YAML mapping of keys")
    if "base" not in data:
        return data, file_sha256(path), path.parent.resolve(), [(shown, lines)]
    base = data.pop("base")
    line = lines.get(("base",))
    if not isinstance(base, str) or not base.strip():
        raise CaseError(shown, "base", base, "expected the path of a base case file (relative to this file)",
                        line=line)
    base_path = (path.parent / base).resolve()  # named in errors in full (no '..' parts)
    if not base_path.exists():  # one that exists but is no regular file is refused by read_yaml_mapping
        raise CaseError(shown, "base", base, "the base case file does not exist", line=line)
    seen = seen + (path.resolve(),)
    if base_path in seen:
        raise CaseError(shown, "base", base, "the base chain loops back to a file already in it", line=line)
    base_data, base_digest, base_dir, layers = _read_chain(base_path, seen)
    digest = hashlib.sha256(path.read_bytes() + base_digest.encode("ascii")).hexdigest()
    return deep_merge(base_data, data), digest, base_dir, [(shown, lines)] + layers


def deep_merge(base: dict, override: dict) -> dict:
    """``override`` on top of ``base``: mappings merge recursively, any other value replaces."""
    merged = dict(base)
    for key, value in override.items():
        both = isinstance(value, dict) and isinstance(merged.get(key), dict)
        merged[key] = deep_merge(merged[key], value) if both else value
    return merged


def _depth_in(lines: dict[tuple, int], loc: tuple) -> int:
    """How many leading parts of ``loc`` a file writes (0: none)."""
    return next((depth for depth in range(len(loc), 0, -1) if loc[:depth] in lines), 0)


def _error_loc(error: dict) -> tuple:
    """The key path of a pydantic error as the user wrote it."""
    # Tagged unions insert the tag into loc ("geometry.sphere.tumour_radius"): drop it for the user.
    raw_loc = tuple(error["loc"])
    loc = tuple(part for i, part in enumerate(raw_loc) if not _is_union_tag(part, raw_loc[:i]))
    cause = (error.get("ctx") or {}).get("error")
    if isinstance(cause, FieldProblem):
        loc = loc + tuple(int(p) if p.isdigit() else p for p in cause.key.split("."))
    return loc


def _to_case_error(exc: ValidationError, shown: str, data: dict, lines: dict[tuple, int]) -> CaseError:
    error = exc.errors(include_url=False)[0]
    loc = _error_loc(error)
    cause = (error.get("ctx") or {}).get("error")
    if isinstance(cause, FieldProblem):
        key = ".".join(str(p) for p in loc)
        line = _line_of(lines, loc)
        return CaseError(shown, key, cause.value, str(cause), line=line)
    raw = _lookup(data, loc)
    key = ".".join(str(p) for p in loc) or "<document>"
    message = error["msg"].removeprefix("Value error, ")
    if error["type"] == "extra_forbidden":
        message = f"unknown key{_allowed_keys(loc)}"
        raw = loc[-1] if loc else raw
    elif error["type"] == "missing":
        message = "this key is required"
        raw = "<missing>"
    return CaseError(shown, key, raw if raw is not None else error.get("input"), message,
                     line=_line_of(lines, loc))


def _line_of(lines: dict[tuple, int], loc: tuple) -> int | None:
    for depth in range(len(loc), 0, -1):
        if loc[:depth] in lines:
            return lines[loc[:depth]]
    return None


_UNION_TAGS = {"sphere", "segmentation", "dicom", "mni152", "pressure", "no_flux", "robin"}


def _is_union_tag(part: object, before: tuple = ()) -> bool:
    """Whether ``part`` is a tagged union's tag that pydantic inserted (geometry.<kind>, bc.<type>)."""
    if before and not (before[-1] == "geometry" or (len(before) >= 2 and isinstance(before[-1], int)
                                                   and before[-2] == "boundary_conditions")):
        return False
    return isinstance(part, str) and part in _UNION_TAGS


def _allowed_keys(loc: tuple) -> str:
    """List the keys the model at ``loc[:-1]`` accepts (from the schema)."""
    model = _model_at(loc[:-1])
    if model is None:
        return ""
    return f" (allowed: {', '.join(model.model_fields)})"


def _model_at(loc: tuple):
    """Walk the schema along ``loc`` and return the model class there, if determinable."""
    model: Any = Case
    for part in loc:
        if isinstance(part, int):
            continue
        if model is None or not (isinstance(model, type) and issubclass(model, BaseModel)):
            return None
        field = model.model_fields.get(part) if isinstance(part, str) else None
        if field is None:
            # a dict value keyed by a user name (regions.<name>): descend into the dict's value type
            continue
        model = _first_model(field.annotation)
    return model if isinstance(model, type) and issubclass(model, BaseModel) else None


def _first_model(annotation: Any) -> Any:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in typing.get_args(annotation):
        found = _first_model(arg)
        if found is not None:
            return found
    return None


def load_case(comm: MPI.Comm, path: str | Path) -> tuple[Case, str]:
    """Read the case on rank 0 and broadcast it (or its error) to every rank of ``comm``."""
    return on_root(comm, read_case, path)
