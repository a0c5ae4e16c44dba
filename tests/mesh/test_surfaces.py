"""Volume targets of the smoothed surfaces: the lesion regions keep their segmented volumes (issue 17)."""

from __future__ import annotations

import numpy as np
import pytest

from oncotwin.mesh.preprocess import clean
from oncotwin.mesh.surfaces import component_targets, label_components


def test_targets_give_each_lesion_tag_its_segmented_volume_and_keep_the_domain():
    components = np.repeat([0, 1, 2, 3], [5, 20, 10, 50])  # voxels of the component ids 1-3
    component_tag = [0, 4, 7, 9]  # id -> region tag; 9 is the host
    targets = component_targets(components, component_tag, {4: 21, 7: 5}, voxel_volume=2.0)
    assert targets[1] == pytest.approx(2.0 * 21)  # 20 cleaned voxels, 21 segmented
    assert targets[2] == pytest.approx(2.0 * 10 * 0.9)  # 10 cleaned, 5 segmented: -50 % limited to -10 %
    assert targets[1:].sum() == pytest.approx(2.0 * 80)  # the host gives or takes the difference
    assert np.array_equal(component_targets(components, component_tag, None, 2.0), 2.0 * np.array([5, 20, 10, 50]))


def test_the_clean_up_moves_volume_that_the_targets_give_back():
    """Bridging diagonal contacts raises tags: the higher tag gains voxels; the targets are the voxels before."""
    tags = np.zeros((6, 6, 6), np.int32)
    tags[1:5, 1:5, 1:5] = 1
    tags[2, 2, 2] = tags[3, 3, 2] = 2  # two voxels of tag 2 touching along an edge only
    before = {t: int((tags == t).sum()) for t in (1, 2)}
    cleaned = clean(tags, tags > 0, 1.0, 0.0)
    after = {t: int((cleaned == t).sum()) for t in (1, 2)}
    assert after[2] > before[2] and after[1] < before[1]
    components, component_tag = label_components(cleaned)
    targets = component_targets(components, component_tag, before, 1.0, max_change=1.0)
    for tag in (1, 2):
        mine = np.asarray(component_tag) == tag
        assert targets[mine].sum() == pytest.approx(before[tag])
