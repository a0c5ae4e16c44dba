"""Voxel size map of a tag volume: fine in the tumour, rim size at its boundary, size_far far away."""

from __future__ import annotations

import numpy as np
import pytest

from oncotwin.case.mesh_options import MeshOptions
from oncotwin.mesh.preprocess import TagVolume
from oncotwin.mesh.size_field import size_volume


def test_size_volume_grades_from_the_tumour():
    tags = np.full((40, 5, 5), 2, dtype=np.int32)
    tags[:10] = 1  # tumour slab: x < 10 voxels
    volume = TagVolume(tags, np.eye(4), tags.shape, np.eye(4), (0, 0, 0), [0, 1, 2])
    options = MeshOptions(size_tumour="2 mm", size_rim="0.5 mm", size_far="6 mm", grading_distance="10 mm")
    sizes = size_volume(volume, options, [1])
    assert sizes.dtype == np.float64 and sizes.shape == tags.shape
    assert sizes[0, 2, 2] == pytest.approx(2.0)  # 9 mm deep: beyond the 2 * size_tumour band
    assert sizes[9, 2, 2] == pytest.approx(0.5 + 1.5 * 1 / 4)  # 1 mm inside the boundary
    assert sizes[10, 2, 2] == pytest.approx(0.5 + 5.5 * 0.1)  # 1 mm outside
    assert sizes[39, 2, 2] == pytest.approx(6.0)  # beyond grading_distance
