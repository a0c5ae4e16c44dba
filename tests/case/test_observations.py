"""Observation files: windows, dates, and one-line errors for bad observations."""

from __future__ import annotations

import nibabel as nib
import numpy as np
import pytest
import yaml

from oncotwin.case.observations import read_observations
from oncotwin.case.schema import Case
from oncotwin.core.errors import CaseError

DAY = 86400.0


def _labels(path, shape=(16, 16, 12), spacing=(1.0, 1.0, 1.5), radius=4.0, value=1):
    affine = np.diag([*spacing, 1.0])
    i, j, k = np.indices(shape)
    centre = (np.array(shape) - 1) / 2
    r = np.sqrt(((i - centre[0]) * spacing[0]) ** 2 + ((j - centre[1]) * spacing[1]) ** 2
                + ((k - centre[2]) * spacing[2]) ** 2)
    nib.save(nib.Nifti1Image((r < radius).astype(np.uint8) * np.uint8(value), affine), path)
    return path


@pytest.fixture
def case(tmp_path):
    _labels(tmp_path / "baseline.nii.gz")
    return Case.model_validate({
        "name": "obs", "geometry": {"kind": "segmentation", "labels": "baseline.nii.gz", "regions": {"tumour": [1]}},
        "regions": {"tumour": {"kind": "tumour"}, "host": {"kind": "normal"}},
        "physics": {"growth": {"enabled": True}}, "time": {"end": "30 day", "max_step": "1 day"},
    }, context={"base_dir": str(tmp_path)})


def _write(tmp_path, data, name="obs.yaml"):
    path = tmp_path / name
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def test_times_dates_and_windows(tmp_path, case):
    _labels(tmp_path / "f1.nii.gz", radius=5.0)
    _labels(tmp_path / "f2.nii.gz", radius=6.0)
    path = _write(tmp_path, {"baseline_date": "2024-03-01", "observations": [
        {"segmentation": "f1.nii.gz", "labels": [1], "date": "2024-03-15"},
        {"segmentation": "f2.nii.gz", "labels": [1], "time": ["14 day", "28 day"], "name": "mid"}],
        "scalars": [{"name": "ctdna", "values": [{"time": "0 day", "value": 3.0}, {"date": "2024-03-11", "value": 2.0}]}]})
    obs = read_observations(path, case)
    first, window = obs.segmentations
    assert (first.name, first.start, first.end) == ("day14", 14 * DAY, 14 * DAY)
    assert first.readout == "total"  # the default readout: every tumour cell at the detection threshold
    assert window.name == "mid" and window.times[0] == 14 * DAY and window.times[-1] == 28 * DAY
    assert len(window.times) == 15  # the day grid across the window
    assert first.voxel_volume_mm3 == pytest.approx(np.sum(nib.load(tmp_path / "f1.nii.gz").get_fdata() > 0) * 1.5)
    assert obs.scalars[0].times == [0.0, 10 * DAY]
    assert obs.times()[0] == 10 * DAY and obs.times()[-1] == 28 * DAY


@pytest.mark.parametrize("entry, key, message", [
    ({"segmentation": "other.nii.gz", "labels": [1], "time": "10 day"}, "observations.0.segmentation", "grid"),
    ({"segmentation": "f.nii.gz", "labels": [1], "time": "-3 day"}, "observations.0.time", "after the baseline"),
    ({"segmentation": "f.nii.gz", "labels": [1], "date": "2024-02-20"}, "observations.0.date", "after the baseline"),
    ({"segmentation": "f.nii.gz", "labels": [2], "time": "10 day"}, "observations.0.labels", "no voxel"),
    ({"segmentation": "empty.nii.gz", "labels": [1], "time": "10 day"}, "observations.0.labels", "empty"),
    ({"segmentation": "f.nii.gz", "labels": [1], "time": ["20 day", "10 day"]}, "observations.0.time", "window"),
    ({"segmentation": "f.nii.gz", "labels": [1], "time": "10 mm"}, "observations.0.time", "dimension"),
    ({"segmentation": "f.nii.gz", "labels": [1], "time": "10 day", "colour": 1}, "observations.0.colour",
     "unknown key"),
    ({"segmentation": "missing.nii.gz", "labels": [1], "time": "10 day"}, "observations.0.segmentation",
     "not found"),
    ({"segmentation": "f.nii.gz", "labels": [1], "time": "10 day", "readout": "t1"}, "observations.0.readout",
     "'total', 'enhancing' or 'flair'"),
])
def test_bad_observations_give_one_line_errors(tmp_path, case, entry, key, message):
    _labels(tmp_path / "f.nii.gz")
    _labels(tmp_path / "other.nii.gz", shape=(16, 16, 13))
    _labels(tmp_path / "empty.nii.gz", radius=0.0)
    path = _write(tmp_path, {"baseline_date": "2024-03-01", "observations": [entry]})
    with pytest.raises(CaseError) as info:
        read_observations(path, case)
    text = str(info.value)
    assert "\n" not in text and str(path) in text and f"'{key}'" in text and message in text


def test_dates_need_a_baseline_and_something_to_fit(tmp_path, case):
    _labels(tmp_path / "f.nii.gz")
    path = _write(tmp_path, {"observations": [{"segmentation": "f.nii.gz", "labels": [1], "date": "2024-03-15"}]})
    with pytest.raises(CaseError, match="baseline_date"):
        read_observations(path, case)
    with pytest.raises(CaseError, match="at least one"):
        read_observations(_write(tmp_path, {"observations": []}), case)
