"""Scalar matrices assembled into DOLFINx's native CSR and handed to PETSc, on one pattern per mesh.

DOLFINx's PETSc assembler inserts every element matrix through ``MatSetValuesLocal`` (0.65 us per cell
on this machine), its native assembler writes straight into its own CSR arrays (0.30 us per cell,
BENCHMARKS.md "Fluid throughput"). Here the matrix is assembled natively and PETSc sees the CSR arrays:
in serial a ``SeqAIJ`` matrix *shares* the CSR value array (no copy at all), in parallel the owned rows
(after DOLFINx's reverse scatter of the ghost rows) are copied into an ``MPIAIJ`` matrix by PETSc's COO
interface, whose index permutation is computed once.

The sparsity pattern of a scalar Lagrange space is built once per mesh and degree and shared by every
problem on that mesh (fluid, drug, oxygen, growth, tissue motion): forms with cell and exterior-facet
integrals only never need more than the cell pattern, and a region-restricted form only a part of it
(the rest are stored zeros, which change no product and no Krylov iterate).
"""

from __future__ import annotations

import numpy as np

from oncotwin.core.fenics import PETSc, dolfinx, ufl
from oncotwin.la import broken

_CACHE_ATTR = "_oncotwin_sparsity"


def _same_dofmap(a, b) -> bool:
    """Same cell-to-dof map and parallel layout (DOLFINx C++ spaces, e.g. two spaces of one element)."""
    if a is b:
        return True
    ma, mb = a.dofmap.index_map, b.dofmap.index_map
    return (a.mesh is b.mesh and a.dofmap.index_map_bs == b.dofmap.index_map_bs
            and a.element.signature == b.element.signature and ma.size_local == mb.size_local
            and np.array_equal(ma.ghosts, mb.ghosts) and np.array_equal(a.dofmap.map(), b.dofmap.map()))


def _shareable(form: dolfinx.fem.Form, V: dolfinx.fem.FunctionSpace | None) -> bool:
    """Scalar form of space ``V`` (test and trial) without interior-facet integrals: its pattern is a
    part of the cell pattern of ``V``."""
    if V is None or V.dofmap.index_map_bs != 1:
        return False
    if dolfinx.fem.IntegralType.interior_facet in form.integral_types:
        return False
    return all(_same_dofmap(W, V._cpp_object) for W in form.function_spaces)


def shared_pattern(V: dolfinx.fem.FunctionSpace):
    """The finalised cell sparsity pattern of scalar space ``V``, built once per mesh and element.

    Cached on the mesh object; a later space of the same element is checked to have the same dof map
    (DOLFINx numbers the dofs of an element deterministically) before it shares the pattern.
    """
    mesh = V.mesh
    cache = mesh.__dict__.setdefault(_CACHE_ATTR, {})
    key = V.element.signature
    entry = cache.get(key)
    if entry is not None and _same_dofmap(entry[0]._cpp_object, V._cpp_object):
        return entry[1]
    u, v = ufl.TrialFunction(V), ufl.TestFunction(V)
    pattern = dolfinx.fem.create_sparsity_pattern(dolfinx.fem.form(u * v * ufl.dx(domain=mesh)))
    pattern.finalize()
    cache[key] = (V, pattern)
    return pattern


def _own_pattern(form: dolfinx.fem.Form):
    pattern = dolfinx.fem.create_sparsity_pattern(form)
    pattern.finalize()
    return pattern


class NativeMatrix:
    """A PETSc AIJ matrix of a bilinear form, assembled through DOLFINx's native CSR.

    Args:
        form: compiled scalar bilinear form.
        space: the form's test and trial space: the matrix then has the mesh's shared pattern of this
            space (:func:`shared_pattern`); None (or another space): the form's own pattern.
        bcs: Dirichlet conditions: their rows and columns are zeroed and ``diag`` put on the diagonal,
            as ``dolfinx.fem.petsc.assemble_matrix`` does.
        diag: diagonal value of constrained rows.
        assemble: assemble the values now (False: an all-zero matrix with the pattern).
        keep_coefficients: keep the packed coefficients of the latest assembly until
            :meth:`take_coefficients` (e.g. for the lifting of Dirichlet conditions with the same form).

    Attributes:
        mat: the PETSc matrix (same parallel layout as ``dolfinx.fem.petsc.create_matrix``).
    """

    def __init__(self, form: dolfinx.fem.Form | ufl.Form, bcs=(), diag: float = 1.0, assemble: bool = True,
                 space: dolfinx.fem.FunctionSpace | None = None, keep_coefficients: bool = False):
        compiled = dolfinx.fem.form(form) if isinstance(form, ufl.Form) else form
        self.comm = compiled.mesh.comm
        self.form, self.bcs, self.diag = compiled, list(bcs), diag
        self.keep_coefficients, self._coefficients = keep_coefficients, None
        shareable = _shareable(compiled, space)
        pattern = shared_pattern(space) if shareable else _own_pattern(compiled)
        self.csr = dolfinx.la.matrix_csr(pattern, dtype=PETSc.ScalarType)
        # a UFL form of cell and boundary integrals without Dirichlet rows: assembled on the broken space
        self._broken = None
        if shareable and not bcs and not keep_coefficients and broken.supports(form, space):
            assembler = broken.broken_assembler(space, pattern)
            broken_form = assembler.form(form)
            self._broken = None if broken_form is None else (assembler, broken_form)
        if assemble:
            self._assemble_csr(compiled, self.bcs)
        self.mat = self._create()

    def _assemble_csr(self, form, bcs) -> None:
        if self._broken is not None and form is self.form and not bcs:
            assembler, broken_form = self._broken
            assembler.assemble(broken_form, self.csr.data)
            self.csr.scatter_reverse()
            return
        self.csr.data[:] = 0.0
        coeffs = dolfinx.fem.pack_coefficients(form) if self.keep_coefficients else None
        dolfinx.fem.assemble_matrix(self.csr, form, bcs=bcs, diag=self.diag, coeffs=coeffs)
        self._coefficients = coeffs
        self.csr.scatter_reverse()

    def _create(self) -> PETSc.Mat:
        csr, comm = self.csr, self.comm
        rmap, cmap = csr.index_map(0), csr.index_map(1)
        n, m = rmap.size_local, cmap.size_local
        indptr = csr.indptr[: n + 1].astype(PETSc.IntType)
        self._nnz = int(indptr[-1])
        if comm.size == 1:
            # no copy: PETSc's value array is the CSR's (petsc4py keeps a reference to it)
            A = PETSc.Mat().createAIJWithArrays((n, m), (indptr, csr.indices, csr.data), comm=comm)
        else:
            A = PETSc.Mat().create(comm)
            A.setSizes(((n, rmap.size_global), (m, cmap.size_global)))
            A.setType(PETSc.Mat.Type.AIJ)
            rows = np.repeat(np.arange(n, dtype=PETSc.IntType) + PETSc.IntType(rmap.local_range[0]),
                             np.diff(indptr))
            cols = cmap.local_to_global(csr.indices[: self._nnz]).astype(PETSc.IntType)
            A.setPreallocationCOO(rows, cols)
            A.setValuesCOO(csr.data[: self._nnz], addv=PETSc.InsertMode.INSERT_VALUES)
        A.setOption(PETSc.Mat.Option.NEW_NONZERO_ALLOCATION_ERR, True)
        A.assemble()
        A.setAttr("oncotwin_csr", csr)  # the serial matrix shares the CSR's memory: keep it alive
        return A

    def take_coefficients(self) -> dict | None:
        """The packed coefficients of the latest assembly, once (None afterwards, or when not kept)."""
        coeffs, self._coefficients = self._coefficients, None
        return coeffs

    def assemble(self, form: dolfinx.fem.Form | None = None, bcs=None) -> PETSc.Mat:
        """Reassemble all values (of ``form`` if given, same spaces) and return :attr:`mat`."""
        self._assemble_csr(self.form if form is None else form, self.bcs if bcs is None else list(bcs))
        if self.comm.size > 1:
            self.mat.setValuesCOO(self.csr.data[: self._nnz], addv=PETSc.InsertMode.INSERT_VALUES)
        self.mat.assemble()  # also marks the operator as changed for the preconditioner
        return self.mat


def assemble_matrix(form: dolfinx.fem.Form | ufl.Form, bcs=(), diag: float = 1.0,
                    space: dolfinx.fem.FunctionSpace | None = None) -> PETSc.Mat:
    """Assembled PETSc matrix of ``form`` (drop-in for ``dolfinx.fem.petsc.assemble_matrix`` + ``assemble``).

    Square scalar forms go through :class:`NativeMatrix` (on the mesh's shared pattern of ``space``, and
    on its broken space when ``form`` is given in UFL, :mod:`oncotwin.la.broken`); other forms (vector or
    mixed spaces) through DOLFINx's PETSc assembler.
    """
    if isinstance(form, ufl.Form) and broken.supports(form, space) and not bcs:
        return NativeMatrix(form, space=space).mat
    form = dolfinx.fem.form(form) if isinstance(form, ufl.Form) else form
    V0, V1 = form.function_spaces
    if V0.dofmap.index_map_bs == 1 and _same_dofmap(V0, V1):
        return NativeMatrix(form, bcs, diag, space=space).mat
    A = dolfinx.fem.petsc.assemble_matrix(form, bcs=list(bcs), diag=diag)
    A.assemble()
    return A
