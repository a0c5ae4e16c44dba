"""Exact level-set fractions of a linear function on a tetrahedron and the readouts' log-linear reconstruction."""

from __future__ import annotations

import numpy as np
import pytest

from oncotwin.problems.level_sets import (
    DENSITY_FLOOR,
    fraction_above,
    fraction_below,
    visible_fraction,
    visible_volumes,
)


def _monte_carlo(values: np.ndarray, level: float, samples: int = 400_000, seed: int = 3) -> float:
    weights = np.random.default_rng(seed).dirichlet(np.ones(4), size=samples)
    return float(np.mean(weights @ values <= level))


@pytest.mark.parametrize("values, level", [
    ([0.1, 0.9, 0.4, 0.6], 0.5), ([0.0, 0.0, 1.0, 1.0], 0.3), ([0.0, 1e-13, 1.0, 1.0 + 1e-14], 0.3),
    ([0.0, 0.5, 0.5, 1.0], 0.5), ([0.0, 0.2, 0.2 + 1e-11, 1.0], 0.6), ([-1.0, 2.0, 0.3, 0.7], 1.5),
    ([0.2, 0.3, 0.4, 0.5], 0.21), ([0.2, 0.3, 0.4, 0.5], 0.49),
])
def test_fraction_below_matches_sampling(values, level):
    exact = fraction_below(np.array([values]), level)[0]
    assert exact == pytest.approx(_monte_carlo(np.array(values), level), abs=3e-3)


def test_fraction_closed_forms_and_limits():
    # one vertex above: the corner tetrahedron cut at height t has volume fraction t^3
    values = np.array([[0.0, 0.0, 0.0, 1.0]])
    for t in (0.1, 0.5, 0.9):
        assert fraction_above(values, 1 - t)[0] == pytest.approx(t ** 3, rel=1e-12)
    assert fraction_below(values, -1.0)[0] == 0.0 and fraction_below(values, 2.0)[0] == 1.0
    constant = np.array([[0.3, 0.3, 0.3, 0.3]])
    assert fraction_above(constant, 0.2)[0] == 1.0 and fraction_above(constant, 0.4)[0] == 0.0


def test_fraction_is_continuous_in_the_values():
    rng = np.random.default_rng(0)
    values = rng.random((2000, 4))
    f0 = fraction_above(values, 0.5)
    f1 = fraction_above(values + 1e-7, 0.5)
    assert np.max(np.abs(f1 - f0)) < 1e-4


def test_the_reconstruction_is_exact_on_an_exponential_front():
    """u = exp(-x / lambda) on the corner tetrahedron x, y, z >= 0, x + y + z <= h: {u >= T} is x <= lambda log(1/T),
    whose volume fraction is 1 - (1 - s)^3 with s = lambda log(1 / T) / h (a linear reconstruction is not)."""
    h, lam, threshold = 2.0, 0.6, 0.16
    values = np.exp(-np.array([[0.0, h, 0.0, 0.0]]) / lam)  # nodes (0,0,0), (h,0,0), (0,h,0), (0,0,h)
    s = lam * np.log(1.0 / threshold) / h
    exact = 1.0 - (1.0 - s) ** 3
    assert visible_fraction(values, threshold)[0] == pytest.approx(exact, rel=1e-12)
    assert abs(fraction_above(values, threshold)[0] - exact) > 0.05


def test_an_edge_against_an_empty_node_stays_at_the_tumour_node():
    """0.8 at one node, no cells at the others: the 16 % level lies within the floor's bound of that node, for
    the linear reconstruction four fifths of the way out (fraction (4/5)^3 of the cell)."""
    values = np.array([[0.8, 0.0, 0.0, 0.0]])
    bound = (np.log(0.8) - np.log(0.16)) / (np.log(0.8) - np.log(DENSITY_FLOOR))
    assert 0.0 < visible_fraction(values, 0.16)[0] <= bound ** 3 * (1 + 1e-12)
    assert fraction_above(values, 0.16)[0] == pytest.approx(0.8 ** 3, rel=1e-12)


def test_the_reconstruction_keeps_nodal_order_and_uniform_cells():
    """A cell whose nodes are all above (below) the threshold is fully (not) visible, as with the linear one."""
    assert visible_fraction(np.array([[0.3, 0.3, 0.3, 0.3]]), 0.2)[0] == 1.0
    assert visible_fraction(np.array([[0.1, 0.0, 0.15, 0.05]]), 0.2)[0] == 0.0
    rng = np.random.default_rng(1)
    values = rng.random((500, 4))
    inside = visible_fraction(values, 0.5)
    assert np.all((inside > 0) == (values.max(axis=1) > 0.5)) and np.all((inside < 1) == (values.min(axis=1) < 0.5))


def test_visible_volumes_equal_the_sum_over_every_cell():
    """Reconstructing only the cells with a node at a threshold changes nothing: elsewhere every fraction is 0."""
    rng = np.random.default_rng(3)
    cells = rng.integers(0, 400, size=(2000, 4))
    volumes = rng.random(2000)
    tumour = np.where(rng.random(400) < 0.1, rng.random(400), 0.0)  # a small tumour in an empty mesh
    fields = [(tumour, 0.2), (0.5 * tumour, 0.05), (np.zeros(400), 0.3), (tumour, 0.0)]
    expected = [float(np.dot(volumes, visible_fraction(u[cells], level))) for u, level in fields]
    got = visible_volumes(cells, volumes, fields)
    assert got == pytest.approx(expected, rel=1e-13, abs=1e-15)
    assert 0 < got[0] < got[-1] < volumes.sum()
    assert got[2] == 0.0
