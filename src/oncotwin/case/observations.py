"""Observation files for ``oncotwin calibrate``: follow-up segmentations (and scalar series) after baseline.

Example::

    baseline_date: 2024-03-01             # date of the baseline scan (needed when dates are given)
    observations:
      - segmentation: followup1.nii.gz    # on the baseline labels' grid (register it first)
        labels: [1, 3, 4]                 # label values that are tumour
        readout: total                    # or enhancing (T1c), flair (FLAIR/T2)
        date: 2024-03-31                  # or time: "30 day"
      - segmentation: followup2.nii.gz
        labels: [1, 3, 4]
        time: ["14 day", "28 day"]        # a window: the exact date is unknown
    scalars:                              # optional series, e.g. a blood biomarker
      - name: ctDNA
        metric: tumour_cells              # proportional to this model metric (factor unknown: fitted)
        log_sd: 0.3
        values: [{time: "0 day", value: 12.0}, {time: "30 day", value: 5.1}]

Times count from the baseline scan (the case's t = 0). A window is honest about an unknown date: the
model is compared with the observation over the whole window (see :mod:`oncotwin.calibration.misfit`).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated, Any, Literal

import numpy as np
from pydantic import (
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from oncotwin.case.base import FieldProblem, StrictModel
from oncotwin.case.load import _to_case_error, read_yaml_mapping
from oncotwin.case.paths import resolve_path
from oncotwin.core.errors import CaseError, InputDataError
from oncotwin.core.hashing import file_sha256
from oncotwin.core.units import UnitError, to_internal
from oncotwin.imaging.images import check_same_grid, labels_found, read_label_map

DAY = 86400.0
METRICS = ("tumour_cells", "tumour_volume_mm3", "viable_volume_mm3")


def _time(value: Any) -> float:
    try:
        seconds = to_internal(value, "s", example="30 day")
    except UnitError as exc:
        raise ValueError(str(exc)) from None
    return seconds


def _date(value: Any) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        raise ValueError("expected a date YYYY-MM-DD") from None


class _Timed(StrictModel):
    """A time after baseline (``time``, or ``date`` with the file's ``baseline_date``), or a window of two."""

    time: Any = None
    date: Any = None

    @model_validator(mode="after")
    def _one(self) -> _Timed:
        if (self.time is None) == (self.date is None):
            raise FieldProblem("time", self.time, "give exactly one of 'time' (e.g. \"30 day\" or a window "
                               "[\"14 day\", \"28 day\"]) or 'date' (YYYY-MM-DD, or a window of two dates)")
        return self

    def window(self, baseline: dt.date | None) -> tuple[float, float]:
        """(earliest, latest) time after baseline [s]."""
        key, raw = ("time", self.time) if self.time is not None else ("date", self.date)
        values = list(raw) if isinstance(raw, (list, tuple)) else [raw]
        if len(values) not in (1, 2):
            raise FieldProblem(key, raw, "expected one value or a window of two")
        try:
            if key == "time":
                times = [_time(v) for v in values]
            else:
                if baseline is None:
                    raise FieldProblem(key, raw, "dates need 'baseline_date' at the top of the file")
                times = [(_date(v) - baseline).days * DAY for v in values]
        except ValueError as exc:
            raise FieldProblem(key, raw, str(exc)) from None
        if len(times) == 2 and not times[0] < times[1]:
            raise FieldProblem(key, raw, "a window must be [earliest, latest]")
        return times[0], times[-1]


class SegmentationObservation(_Timed):
    """A follow-up tumour segmentation and the readout it is (``readout``): ``total`` (all tumour cells at
    the detection threshold), ``enhancing`` (T1c: viable and doomed cells at the enhancing threshold) or
    ``flair`` (FLAIR/T2: all cells at the FLAIR threshold)."""

    segmentation: Path
    labels: Annotated[list[int], Field(min_length=1)]
    name: str | None = None
    readout: Literal["total", "enhancing", "flair"] = "total"

    @field_validator("segmentation", mode="before")
    @classmethod
    def _path(cls, value: Any, info: ValidationInfo) -> Path:
        return resolve_path(value, info)


class ScalarValue(_Timed):
    """One value of a scalar series."""

    value: Annotated[float, Field(gt=0)]


class ScalarSeries(StrictModel):
    """A positive scalar proportional to a model metric with an unknown factor (only ratios inform)."""

    name: str
    metric: str = "tumour_cells"
    log_sd: Annotated[float, Field(gt=0, le=5)] | None = None
    values: Annotated[list[ScalarValue], Field(min_length=2)]

    @field_validator("metric")
    @classmethod
    def _known(cls, value: str) -> str:
        if value not in METRICS:
            raise ValueError(f"not a model metric a scalar can follow; allowed: {', '.join(METRICS)}")
        return value


class ObservationFile(StrictModel):
    """An observation file."""

    baseline_date: Any = None
    observations: list[SegmentationObservation] = []
    scalars: list[ScalarSeries] = []

    @field_validator("baseline_date")
    @classmethod
    def _iso(cls, value: Any) -> dt.date | None:
        return None if value is None else _date(value)


class Observation(StrictModel):
    """A validated segmentation observation: its window after baseline and what it contains."""

    name: str
    segmentation: Path
    sha256: str
    labels: list[int]
    start: float
    end: float
    voxel_volume_mm3: float
    readout: str = "total"

    @property
    def times(self) -> list[float]:
        """Times at which the model is compared with it: the day grid across a window (or its time)."""
        if self.end <= self.start:
            return [self.start]
        n = max(2, int(round((self.end - self.start) / DAY)) + 1)
        return [float(t) for t in np.linspace(self.start, self.end, n)]


class Scalar(StrictModel):
    """A validated scalar series: (time [s], value) pairs."""

    name: str
    metric: str
    log_sd: float | None
    times: list[float]
    values: list[float]


class Observations(StrictModel):
    """Everything an observation file gives, validated against the case."""

    file: Path
    sha256: str
    segmentations: list[Observation]
    scalars: list[Scalar]

    def times(self) -> list[float]:
        """Every time the model must be sampled at [s], sorted."""
        times = {t for o in self.segmentations for t in o.times}
        times |= {t for s in self.scalars for t in s.times if t > 0}
        return sorted(times)


def read_observations(path: str | Path, case) -> Observations:
    """Read and check an observation file against a case (on one rank; reads every segmentation).

    Raises:
        CaseError: one line naming the file, the key, the value and what is allowed (a grid other than
            the baseline labels', a time before baseline, an empty segmentation, unknown keys, ...).
    """
    path = Path(path)
    shown = str(path)
    data, lines = read_yaml_mapping(path, "an observation file is a YAML mapping with 'observations' (and "
                                    "optionally 'baseline_date', 'scalars')", kind="observation file")
    try:
        spec = ObservationFile.model_validate(data, context={"base_dir": str(path.parent.resolve())})
    except ValidationError as exc:
        raise _to_case_error(exc, shown, data, lines) from None

    def fail(key: str, value: Any, message: str) -> CaseError:
        loc = tuple(int(p) if p.isdigit() else p for p in key.split("."))
        line = next((lines[loc[:d]] for d in range(len(loc), 0, -1) if loc[:d] in lines), None)
        return CaseError(shown, key, value, message, line=line)

    if not spec.observations and not spec.scalars:
        raise fail("observations", [], "give at least one follow-up segmentation (or a scalar series)")
    reference = None  # the forward model runs to the last observation, whatever the case's end
    geometry = case.geometry
    if getattr(geometry, "kind", None) == "segmentation":
        reference = read_label_map(geometry.labels, "geometry.labels")
    segmentations, names = [], set()
    for i, obs in enumerate(spec.observations):
        key = f"observations.{i}"
        try:
            start, stop = obs.window(spec.baseline_date)
        except FieldProblem as exc:
            raise fail(f"{key}.{exc.key}", exc.value, str(exc)) from None
        when = obs.time if obs.time is not None else obs.date
        if start <= 0:
            raise fail(f"{key}.{'time' if obs.time is not None else 'date'}", when,
                       "must be after the baseline scan (the case's t = 0)")
        try:
            image = read_label_map(obs.segmentation, f"{key}.segmentation")
            if reference is not None:
                check_same_grid(reference, image, f"{key}.segmentation")
        except InputDataError as exc:
            raise fail(f"{key}.segmentation", str(obs.segmentation), f"{exc} (observations must be on the "
                       f"baseline labels' grid {reference.shape if reference is not None else ''}: register "
                       "them first)" if reference is not None and "grid" in str(exc) else str(exc)) from None
        count = int(np.isin(image.array, obs.labels).sum())
        if count == 0:
            raise fail(f"{key}.labels", obs.labels, f"{obs.segmentation.name} has no voxel with these labels "
                       f"(labels present: {labels_found(image) or 'none'}): an empty segmentation cannot be fitted")
        name = obs.name or f"day{start / DAY:g}" + (f"-{stop / DAY:g}" if stop > start else "")
        if name in names:
            raise fail(f"{key}.name", name, "observation names must be unique")
        names.add(name)
        segmentations.append(Observation(name=name, segmentation=obs.segmentation,
                                          sha256=file_sha256(obs.segmentation), labels=obs.labels, start=start,
                                          end=stop, voxel_volume_mm3=count * image.voxel_volume,
                                          readout=obs.readout))
    scalars = []
    for i, series in enumerate(spec.scalars):
        times = []
        for j, value in enumerate(series.values):
            try:
                start, stop = value.window(spec.baseline_date)
            except FieldProblem as exc:
                raise fail(f"scalars.{i}.values.{j}.{exc.key}", exc.value, str(exc)) from None
            if start < 0:
                raise fail(f"scalars.{i}.values.{j}", value.time or value.date, "must not be before baseline")
            times.append(0.5 * (start + stop))
        scalars.append(Scalar(name=series.name, metric=series.metric, log_sd=series.log_sd, times=times,
                              values=[v.value for v in series.values]))
    return Observations(file=path.resolve(), sha256=file_sha256(path), segmentations=segmentations,
                        scalars=scalars)
