"""NIfTI export of run fields: sampling at voxel centres, coverage check, NIfTI geometry."""

from __future__ import annotations

import gzip
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest
import pyvista as pv

from oncotwin.core.errors import InputDataError
from oncotwin.imaging.images import Image
from oncotwin.io.export import check_covers, export_volume, write_nifti


def _pieces():
    """Two pieces (as two ranks write them) of a tetrahedral box [0, 4] x [0, 6] x [0, 9] mm with a linear
    vertex field f = 1 + x - 2 y + 0.5 z, a vector field and a cell field (its piece number)."""
    grid = pv.ImageData(dimensions=(5, 7, 10), spacing=(1.0, 1.0, 1.0)).triangulate().cast_to_unstructured_grid()
    x = grid.points
    grid.point_data["f"] = 1.0 + x[:, 0] - 2.0 * x[:, 1] + 0.5 * x[:, 2]
    grid.point_data["v"] = x * [1.0, 2.0, 3.0]
    centres = grid.cell_centers().points
    low = centres[:, 2] < 4.0
    pieces = []
    for k, keep in enumerate((low, ~low)):
        piece = grid.extract_cells(np.flatnonzero(keep))
        piece.cell_data["regions"] = np.full(piece.n_cells, float(k + 1))
        pieces.append(piece)
    return pieces


def _image(affine, shape=(12, 10, 8)) -> Image:
    return Image(array=np.zeros(shape, dtype=np.uint8), affine=np.asarray(affine, dtype=float), path=Path("ref.nii"))


def _lps_oblique():
    """An oblique, anisotropic grid with flipped axes (LPS-like), voxel (0, 0, 0) near the far corner."""
    angle = np.deg2rad(10.0)
    rotation = np.array([[np.cos(angle), -np.sin(angle), 0.0], [np.sin(angle), np.cos(angle), 0.0], [0, 0, 1]])
    affine = np.eye(4)
    affine[:3, :3] = rotation @ np.diag([-0.5, -0.75, 1.5])
    affine[:3, 3] = [5.0, 7.5, -1.0]
    return affine


def test_linear_field_is_reproduced_at_every_voxel_centre_inside_and_zero_outside():
    pieces = _pieces()
    image = _image(_lps_oblique(), shape=(14, 12, 9))
    values = export_volume(pieces, "f", image)
    ijk = np.indices(image.shape).reshape(3, -1).T
    world = ijk @ image.affine[:3, :3].T + image.affine[:3, 3]
    inside = np.all((world > 1e-9) & (world < [4 - 1e-9, 6 - 1e-9, 9 - 1e-9]), axis=1)
    outside = np.any((world < -1e-6) | (world > [4 + 1e-6, 6 + 1e-6, 9 + 1e-6]), axis=1)
    assert inside.sum() > 100 and outside.sum() > 100
    exact = 1.0 + world[:, 0] - 2.0 * world[:, 1] + 0.5 * world[:, 2]
    flat = values.reshape(-1)
    assert flat[inside] == pytest.approx(exact[inside], rel=1e-5, abs=1e-5)  # P1 interpolates a linear field
    assert np.all(flat[outside] == 0.0)


def test_cell_fields_are_integers_and_vectors_keep_their_components():
    pieces = _pieces()
    image = _image(np.diag([0.5, 0.5, 1.0, 1.0]), shape=(9, 13, 10))
    regions = export_volume(pieces, "regions", image)
    assert regions.dtype == np.int32
    assert np.all(regions[:, :, 0:4] == 1) and np.all(regions[:, :, 5:10] == 2)  # z = k mm; pieces meet at 4
    vectors = export_volume(pieces, "v", image)
    assert vectors.shape == (*image.shape, 3)
    centre = np.array([4, 6, 5])
    assert vectors[tuple(centre)] == pytest.approx(centre * [0.5, 0.5, 1.0] * [1, 2, 3], rel=1e-6)


def test_an_image_that_does_not_cover_the_mesh_is_refused():
    shifted = np.diag([1.0, 1.0, 1.0, 1.0])
    shifted[:3, 3] = [2.0, 0.0, 0.0]
    with pytest.raises(InputDataError, match=r"ref.nii: --like: the image does not cover the mesh .* the mesh spans"):
        check_covers(_pieces(), _image(shifted, shape=(20, 20, 20)))
    check_covers(_pieces(), _image(np.eye(4), shape=(5, 7, 10)))  # node = outermost voxel centre: covered


def test_nifti_keeps_the_affine_and_marks_vectors(tmp_path):
    affine = _lps_oblique()
    image = _image(affine, shape=(3, 4, 5))
    scalar, vector = np.random.default_rng(1).random((3, 4, 5)).astype(np.float32), np.ones((3, 4, 5, 3), np.float32)
    write_nifti(tmp_path / "tmp-a", scalar, image, "a.nii.gz")
    write_nifti(tmp_path / "tmp-b", vector, image, "b.nii")
    gzip.decompress((tmp_path / "tmp-a").read_bytes())  # gzip as the name says
    (tmp_path / "a.nii.gz").write_bytes((tmp_path / "tmp-a").read_bytes())
    (tmp_path / "b.nii").write_bytes((tmp_path / "tmp-b").read_bytes())
    a, b = nib.load(tmp_path / "a.nii.gz"), nib.load(tmp_path / "b.nii")
    assert np.allclose(a.affine, affine) and np.allclose(a.header.get_qform(), affine)
    assert np.array_equal(np.asarray(a.dataobj), scalar)
    assert b.shape == (3, 4, 5, 1, 3) and b.header.get_intent()[0] == "vector"
    assert a.header["descrip"].item() == b"" and a.header["db_name"].item() == b""  # no header text from anywhere
