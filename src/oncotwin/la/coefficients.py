"""Packed form coefficients kept between assemblies, with only the changing ones refreshed.

DOLFINx packs every coefficient of a form into one array per integral before each assembly, and on this
machine the cost grows with the number of coefficients times the packed row width: 2.2 ms for one P1
coefficient on 272k cells, 32 ms for four and 103 ms for eight (BENCHMARKS.md "Coefficient packing"). A
Newton loop changes only its iterate, so :class:`PackedCoefficients` packs everything once per outer step
(:meth:`~PackedCoefficients.pack`) and between Newton steps rewrites only the iterate's columns from its
dof values (:meth:`~PackedCoefficients.refresh`), a gather of four values per cell for P1.

The columns of each refreshed coefficient are located once and checked against DOLFINx's own packing
of the same form; a coefficient whose columns do not match a plain gather of its dofs (an element that
needs dof transformations, a facet integral) is repacked in full by :meth:`refresh` instead.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from oncotwin.core.fenics import dolfinx

_Key = tuple[dolfinx.fem.IntegralType, int]


def _column_offsets(form: dolfinx.fem.Form) -> list[int]:
    """Start column of each of the form's coefficients in a packed row (DOLFINx packs them in order)."""
    widths = [c.function_space.element.space_dimension for c in form._cpp_object.coefficients]
    return [int(w) for w in np.concatenate([[0], np.cumsum(widths, dtype=np.int64)])]


def _cell_gather(function: dolfinx.fem.Function, cells: np.ndarray) -> np.ndarray | None:
    """Indices into ``function.x.array`` of the packed values on ``cells``; None if packing is not a gather."""
    V = function.function_space
    if V.element.needs_dof_transformations:
        return None
    bs = V.dofmap.bs
    dofs = V.dofmap.list[cells]
    return (dofs[:, :, None] * bs + np.arange(bs)).reshape(len(cells), -1)


class PackedCoefficients:
    """The packed coefficients of ``form``, refreshed in full or for ``varying`` only.

    Args:
        form: a compiled form.
        varying: the coefficients that change between :meth:`pack` and the next assemblies (e.g. a
            Newton iterate); each must be a coefficient of ``form``.

    Raises:
        ValueError: a ``varying`` function is not a coefficient of the form.
    """

    def __init__(self, form: dolfinx.fem.Form, varying: Sequence[dolfinx.fem.Function]):
        self.form = form
        self.varying = list(varying)
        coefficients = form._cpp_object.coefficients
        positions = []
        for function in self.varying:
            matches = [j for j, c in enumerate(coefficients) if c is function._cpp_object]
            if not matches:
                raise ValueError(f"packed coefficients: {function.name!r} is not a coefficient of the form")
            positions.append(matches[0])
        self._positions = positions
        self._offsets = _column_offsets(form)
        self.packed: dict[_Key, np.ndarray] = {}
        self._plans: list[tuple[_Key, dolfinx.fem.Function, slice, np.ndarray]] | None = None
        self.gathers = True  # False: some varying coefficient is repacked in full by refresh()

    def pack(self) -> dict[_Key, np.ndarray]:
        """Pack every coefficient (after any of them changed); returns the arrays to pass as ``coeffs``."""
        self.packed = dolfinx.fem.pack_coefficients(self.form)
        if self._plans is None:
            self._plans = self._plan()
        return self.packed

    def refresh(self) -> dict[_Key, np.ndarray]:
        """Rewrite the columns of the ``varying`` coefficients from their current values.

        Raises:
            RuntimeError: :meth:`pack` was never called.
        """
        if self._plans is None:
            raise RuntimeError("packed coefficients: refresh() before pack()")
        if not self.gathers:
            return self.pack()
        for key, function, columns, indices in self._plans:
            self.packed[key][:, columns] = function.x.array[indices]
        return self.packed

    def _plan(self) -> list[tuple[_Key, dolfinx.fem.Function, slice, np.ndarray]]:
        """Per integral and varying coefficient: its columns and gather indices, checked against DOLFINx."""
        plans = []
        for key, array in self.packed.items():
            kind, index = key
            for function, position in zip(self.varying, self._positions):
                columns = slice(self._offsets[position], self._offsets[position + 1])
                packed = array[:, columns]
                if kind != dolfinx.fem.IntegralType.cell:
                    indices = None
                else:
                    indices = _cell_gather(function, self.form._cpp_object.domains(kind, index))
                if indices is not None and np.array_equal(function.x.array[indices], packed):
                    plans.append((key, function, columns, indices))
                elif np.any(packed):  # packed here but not as a plain gather: repack in full
                    self.gathers = False
                # all zero and not a gather: the coefficient is not used by this integral
        return plans
