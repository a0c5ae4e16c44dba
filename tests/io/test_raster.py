"""Image <-> mesh transfer: sampling voxel images at P1 nodes and rasterising P1 functions onto grids."""

from __future__ import annotations

import numpy as np
import pytest

from oncotwin.core.fenics import MPI, dolfinx, ufl
from oncotwin.imaging.images import world_to_voxel
from oncotwin.io.raster import rasterise, sample_image_at_nodes

GRAD = np.array([0.7, -1.3, 0.4])
OFFSET = 2.5


def linear(x: np.ndarray) -> np.ndarray:
    """f(x) = a.x + b for points of shape (n, 3)."""
    return x @ GRAD + OFFSET


def rotation(a: float, b: float, c: float) -> np.ndarray:
    ca, sa, cb, sb, cc, sc = np.cos(a), np.sin(a), np.cos(b), np.sin(b), np.cos(c), np.sin(c)
    rz = np.array([[ca, -sa, 0], [sa, ca, 0], [0, 0, 1]])
    ry = np.array([[cb, 0, sb], [0, 1, 0], [-sb, 0, cb]])
    rx = np.array([[1, 0, 0], [0, cc, -sc], [0, sc, cc]])
    return rz @ ry @ rx


def oblique_affine(spacing, origin, angles=(0.35, -0.2, 0.15)) -> np.ndarray:
    """A rotated, anisotropic voxel-to-world affine."""
    affine = np.eye(4)
    affine[:3, :3] = rotation(*angles) @ np.diag(spacing)
    affine[:3, 3] = origin
    return affine


def voxel_centres(shape, affine) -> np.ndarray:
    ijk = np.stack(np.meshgrid(*[np.arange(n) for n in shape], indexing="ij"), axis=-1).reshape(-1, 3)
    return ijk @ affine[:3, :3].T + affine[:3, 3]


def box_mesh(comm, upper=(10.0, 8.0, 6.0), cells=(8, 6, 5), cell_type=dolfinx.mesh.CellType.tetrahedron):
    return dolfinx.mesh.create_box(comm, [np.zeros(3), np.asarray(upper, dtype=float)], list(cells), cell_type)


def p1(mesh):
    return dolfinx.fem.functionspace(mesh, ("Lagrange", 1))


def global_sum(comm, value) -> float:
    return comm.allreduce(float(value), op=MPI.SUM)


@pytest.mark.mpi
def test_trilinear_sampling_is_exact_for_a_linear_image_and_outside_elsewhere(comm):
    """Inside the voxel-centre hull the trilinear interpolant of a linear image is the function itself."""
    V = p1(box_mesh(comm))
    shape = (14, 11, 9)
    affine = oblique_affine((0.7, 0.5, 0.9), origin=(1.0, 0.5, 0.2))  # covers part of the mesh only
    image = linear(voxel_centres(shape, affine)).reshape(shape)
    x = V.tabulate_dof_coordinates()
    assert x.shape[0] == V.dofmap.index_map.size_local + V.dofmap.index_map.num_ghosts

    values = sample_image_at_nodes(V, image, affine, order=1, outside=-99.0)
    ijk = world_to_voxel(x, affine)
    n = np.asarray(shape)
    hull = np.all((ijk >= 1e-9) & (ijk <= n - 1 - 1e-9), axis=1)
    out = np.any((ijk < -0.5 - 1e-6) | (ijk > n - 0.5 + 1e-6), axis=1)
    band = ~hull & ~out & np.all((ijk >= -0.5 + 1e-6) & (ijk <= n - 0.5 - 1e-6), axis=1)
    assert global_sum(comm, hull.sum()) > 50 and global_sum(comm, out.sum()) > 50
    assert values[hull] == pytest.approx(linear(x[hull]), abs=1e-9)
    assert np.all(values[out] == -99.0)
    # in the outer half voxel the edge value is extended: f at the nearest point of the centre hull
    clamped = np.clip(ijk[band], 0, n - 1) @ affine[:3, :3].T + affine[:3, 3]
    assert values[band] == pytest.approx(linear(clamped), abs=1e-9)


@pytest.mark.mpi
def test_nearest_sampling_takes_the_containing_voxel(comm):
    V = p1(box_mesh(comm))
    shape = (14, 11, 9)
    affine = oblique_affine((0.7, 0.5, 0.9), origin=(1.0, 0.5, 0.2))
    labels = np.arange(np.prod(shape), dtype=np.int32).reshape(shape)  # every voxel distinct
    values = sample_image_at_nodes(V, labels, affine, order=0, outside=-1.0)
    ijk = world_to_voxel(V.tabulate_dof_coordinates(), affine)
    nearest = np.floor(ijk + 0.5).astype(int)
    inside = np.all((nearest >= 0) & (nearest < np.asarray(shape)), axis=1)
    expected = np.full(len(values), -1.0)
    expected[inside] = labels[tuple(nearest[inside].T)]
    assert np.array_equal(values, expected)
    assert global_sum(comm, inside.sum()) > 50


def test_sampling_rejects_bad_arguments(comm):
    V = p1(box_mesh(comm, cells=(2, 2, 2)))
    with pytest.raises(ValueError, match="order"):
        sample_image_at_nodes(V, np.zeros((3, 3, 3)), np.eye(4), order=3)
    with pytest.raises(ValueError, match="3D"):
        sample_image_at_nodes(V, np.zeros((3, 3)), np.eye(4))
    with pytest.raises(ValueError, match="singular"):
        sample_image_at_nodes(V, np.zeros((3, 3, 3)), np.diag([1.0, 0.0, 1.0, 1.0]))


@pytest.mark.mpi
@pytest.mark.parametrize("cell_type", [dolfinx.mesh.CellType.tetrahedron, dolfinx.mesh.CellType.hexahedron],
                         ids=["tet-barycentric", "hex-colliding-cells"])
def test_rasterise_reproduces_a_linear_p1_function_at_voxel_centres(comm, cell_type):
    mesh = box_mesh(comm, cell_type=cell_type)
    u = dolfinx.fem.Function(p1(mesh))
    u.interpolate(lambda x: GRAD @ x + OFFSET)
    shape = (18, 16, 13)
    affine = oblique_affine((0.8, 0.65, 0.75), origin=(-1.3, -0.9, -1.1))  # overhangs the mesh
    image = rasterise(u, shape, affine, fill=-7.0)
    boxed = rasterise(u, shape, affine, box=((2, 3, 1), (15, 12, 40)), fill=-7.0)
    if comm.rank != 0:
        assert image is None and boxed is None
        return
    assert image.shape == shape and image.dtype == np.float64
    x = voxel_centres(shape, affine)
    upper = np.array([10.0, 8.0, 6.0])
    inside = np.all((x > 1e-6) & (x < upper - 1e-6), axis=1)
    outside = np.any((x < -1e-6) | (x > upper + 1e-6), axis=1)
    assert inside.sum() > 500 and outside.sum() > 500
    flat = image.ravel()
    assert flat[inside] == pytest.approx(linear(x[inside]), abs=1e-9)
    assert np.all(flat[outside] == -7.0)
    # the box restricts evaluation to image[2:15, 3:12, 1:]; everything else is fill
    window = (slice(2, 15), slice(3, 12), slice(1, None))
    assert np.array_equal(boxed[window], image[window])
    rest = np.ones(shape, dtype=bool)
    rest[window] = False
    assert np.all(boxed[rest] == -7.0)


@pytest.mark.mpi
def test_rasterise_outside_the_mesh_is_all_fill_and_bad_arguments_raise(comm):
    mesh = box_mesh(comm, cells=(3, 3, 3))
    u = dolfinx.fem.Function(p1(mesh))
    u.x.array[:] = 1.0
    far = np.eye(4)
    far[:3, 3] = 100.0
    image = rasterise(u, (4, 5, 6), far, fill=3.0)
    if comm.rank == 0:
        assert image.shape == (4, 5, 6) and np.all(image == 3.0)
    with pytest.raises(ValueError, match="scalar"):
        rasterise(dolfinx.fem.Function(dolfinx.fem.functionspace(mesh, ("Lagrange", 1, (3,)))),
                  (4, 4, 4), np.eye(4))
    with pytest.raises(ValueError, match="box"):
        rasterise(u, (4, 4, 4), np.eye(4), box=((0, 0), (4, 4)))


@pytest.mark.mpi
def test_sphere_mask_round_trip_keeps_its_volume(comm):
    """Binary sphere -> P1 nodes (trilinear) -> lumped volume ~ voxel volume; -> voxels again ~ the mask."""
    mesh = dolfinx.mesh.create_box(comm, [np.full(3, -1.0), np.full(3, 1.0)], [10, 10, 10],
                                   dolfinx.mesh.CellType.tetrahedron)
    V = p1(mesh)
    spacing = np.array([0.04, 0.05, 0.045])
    shape = tuple(int(n) for n in np.ceil(2.2 / spacing))
    affine = np.diag([*spacing, 1.0])
    affine[:3, 3] = -1.1
    centre, radius = np.array([0.1, -0.05, 0.0]), 0.6
    mask = (np.linalg.norm(voxel_centres(shape, affine) - centre, axis=1) <= radius).reshape(shape)
    voxel_volume = mask.sum() * np.prod(spacing)
    assert voxel_volume == pytest.approx(4 / 3 * np.pi * radius**3, rel=0.02)

    s = dolfinx.fem.Function(V)
    s.x.array[:] = sample_image_at_nodes(V, mask, affine)
    lumped = dolfinx.fem.assemble_vector(dolfinx.fem.form(ufl.TestFunction(V) * ufl.dx))
    lumped.scatter_reverse(dolfinx.la.InsertMode.add)  # ghost contributions to their owners
    lumped = lumped.array
    owned = V.dofmap.index_map.size_local
    volume = global_sum(comm, lumped[:owned] @ s.x.array[:owned])
    assert volume == pytest.approx(voxel_volume, rel=0.05)

    back = rasterise(s, shape, affine)
    if comm.rank == 0:
        recovered = back >= 0.5
        dice = 2 * np.sum(recovered & mask) / (recovered.sum() + mask.sum())
        assert dice > 0.88  # 0.918 here: the mesh (h = 0.2) smooths the sphere boundary
        assert recovered.sum() == pytest.approx(mask.sum(), rel=0.1)
