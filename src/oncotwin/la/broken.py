"""P1 matrices assembled on the broken (discontinuous) copy of the space, then summed into the shared pattern.

DOLFINx's native assembler finds the place of every element-matrix entry by a binary search in its CSR
row. On an unstructured mesh the searches branch unpredictably: a P1 mass matrix on the 550k-cell BraTS
mesh takes 212 ms in serial, against 62 ms on a structured box of the same size, whose rows all look
alike (BENCHMARKS.md "Broken-space assembly"). On the broken space DG1 every cell has its own four dofs,
so the rows are four entries long and the searches always take the same path; the element matrices are
then summed into the P1 pattern by one ``numpy.bincount`` over positions computed once per mesh. The
result is the same matrix (the same element matrices, added in another order).

Cell and exterior-facet integrals qualify (a boundary facet's element matrix lives on its one cell), as
long as every integrated facet belongs to an owned cell; interior facets couple two cells, and Dirichlet
rows are left to DOLFINx.
"""

from __future__ import annotations

import numpy as np

from oncotwin.core.fenics import PETSc, dolfinx, ufl

_CACHE_ATTR = "_oncotwin_broken"


def supports(form: ufl.Form, V: dolfinx.fem.FunctionSpace | None) -> bool:
    """Whether ``form`` is a bilinear form on the scalar P1 space ``V`` with cell and exterior-facet integrals."""
    if V is None or not isinstance(form, ufl.Form) or V.dofmap.index_map_bs != 1:
        return False
    element = V.element.basix_element
    if element.degree != 1 or element.discontinuous or element.family.name != "P":
        return False
    arguments = form.arguments()
    return (len(arguments) == 2 and all(a.ufl_function_space() == V for a in arguments)
            and all(i.integral_type() in ("cell", "exterior_facet") for i in form.integrals()))


def _positions(indptr: np.ndarray, indices: np.ndarray, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """Index into a CSR value array of each ``(rows, cols)`` entry (rows and their columns are sorted)."""
    width = np.int64(max(int(indices.max(initial=0)), int(cols.max(initial=0))) + 1)
    keys = np.repeat(np.arange(indptr.size - 1, dtype=np.int64), np.diff(indptr)) * width + indices
    wanted = rows.astype(np.int64) * width + cols
    where = np.searchsorted(keys, wanted)
    if not np.array_equal(keys[np.minimum(where, keys.size - 1)], wanted):
        raise RuntimeError("broken assembly: an element entry is missing from the sparsity pattern")
    return where


class BrokenAssembler:
    """The broken space of a P1 space, its scratch matrix and the map of its entries into the P1 pattern.

    Built once per space (:func:`broken_assembler`) and shared by every matrix on it.

    Args:
        V: the scalar P1 space.
        pattern: the finalised P1 sparsity pattern the matrices use (owned and ghost rows).
    """

    def __init__(self, V: dolfinx.fem.FunctionSpace, pattern):
        self.V = V
        element = V.element.basix_element
        self.W = dolfinx.fem.functionspace(V.mesh, ("DG", 1))
        if self.W.element.basix_element.points.tolist() != element.points.tolist():
            raise RuntimeError("broken assembly: the DG1 and P1 nodes differ")
        u, v = ufl.TrialFunction(self.W), ufl.TestFunction(self.W)
        self.scratch = dolfinx.la.matrix_csr(_pattern_of(dolfinx.fem.form(u * v * ufl.dx)), dtype=PETSc.ScalarType)
        target = dolfinx.la.matrix_csr(pattern, dtype=PETSc.ScalarType)
        self.size = target.data.size
        cells = np.arange(V.mesh.topology.index_map(V.mesh.topology.dim).size_local)
        p1, dg = V.dofmap.list[cells], self.W.dofmap.list[cells]

        def entries(dofs):  # (cell, a, b) -> (row dof a, column dof b)
            return np.repeat(dofs[:, :, None], dofs.shape[1], 2), np.repeat(dofs[:, None, :], dofs.shape[1], 1)

        into = _positions(target.indptr, target.indices, *entries(p1)).ravel()
        source = _positions(self.scratch.indptr, self.scratch.indices, *entries(dg)).ravel()
        # for every scratch entry its place in the P1 values; entries of unassembled (ghost) cells go to a
        # spare bin past the end
        self.target = np.full(self.scratch.data.size, self.size, dtype=np.intp)
        self.target[source] = into

    def form(self, form: ufl.Form) -> dolfinx.fem.Form | None:
        """The broken copy of a bilinear P1 form, compiled; None if a facet integral reaches a ghost cell."""
        test, trial = sorted(form.arguments(), key=lambda a: a.number())
        compiled = dolfinx.fem.form(ufl.replace(form, {test: ufl.TestFunction(self.W),
                                                       trial: ufl.TrialFunction(self.W)}))
        facet = dolfinx.fem.IntegralType.exterior_facet
        owned = self.V.mesh.topology.index_map(self.V.mesh.topology.dim).size_local
        count = compiled._cpp_object.num_integrals(facet, 0) if facet in compiled.integral_types else 0
        cells = [np.asarray(compiled._cpp_object.domains(facet, i)).reshape(-1, 2)[:, 0] for i in range(count)]
        ghosts = any(np.any(c >= owned) for c in cells)
        return None if self.V.mesh.comm.allreduce(ghosts) else compiled

    def assemble(self, broken: dolfinx.fem.Form, out: np.ndarray) -> None:
        """Set ``out`` (the P1 values, owned and ghost rows, before the reverse scatter) to the matrix."""
        self.scratch.data[:] = 0.0
        dolfinx.fem.assemble_matrix(self.scratch, broken)
        out[:] = np.bincount(self.target, weights=self.scratch.data, minlength=self.size + 1)[: self.size]


def _pattern_of(form: dolfinx.fem.Form):
    pattern = dolfinx.fem.create_sparsity_pattern(form)
    pattern.finalize()
    return pattern


def broken_assembler(V: dolfinx.fem.FunctionSpace, pattern) -> BrokenAssembler:
    """The :class:`BrokenAssembler` of ``pattern`` (a P1 pattern of ``V``'s dof map), built once per mesh.

    Cached on the mesh beside the pattern, so every space of one dof map (each problem makes its own P1
    space) shares one scratch matrix and one position map.
    """
    cache = V.mesh.__dict__.setdefault(_CACHE_ATTR, {})
    entry = cache.get(id(pattern))
    if entry is None or entry[0] is not pattern:
        entry = cache[id(pattern)] = (pattern, BrokenAssembler(V, pattern))
    return entry[1]
