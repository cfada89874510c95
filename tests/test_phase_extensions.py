"""The phase experiment's extensions: cells scheduled longest first (same keys, same
numbers), the torch ``jepa-mlp`` latent model, receding-horizon MPC for cost (ii), the P6 k*
on the regret-vs-k figure."""
from __future__ import annotations

import itertools

import numpy as np

from jepatheory.phase import phase_cell_cost, phase_cells, run_phase_cell
from jepatheory.sim.sweep import cell_key

TINY_PARAMS = dict(width=3, height=3)


def test_cells_are_ordered_longest_first_with_unchanged_keys():
    args = ("noisy-block", TINY_PARAMS, [0.0, 0.5, 1.0], [1, 4], [300, 600], [4, 8],
            ["count", "jepa-tabular", "features", "jepa-linear"], [0, 1])
    cells = phase_cells(*args)
    costs = [phase_cell_cost(c) for c in cells]
    assert costs == sorted(costs, reverse=True)
    assert cells[0]["model"] == "jepa-linear" and cells[-1]["model"] == "count"
    # the same cells as the grid's product, one per content key (input models ignore k)
    expect = set()
    for noise, n, k, mdl, seed in itertools.product(*args[2:3], *args[4:]):
        one = phase_cells("noisy-block", TINY_PARAMS, [noise], args[3], [n], [k], [mdl], [seed])
        expect |= {cell_key(c) for c in one}
    assert {cell_key(c) for c in cells} == expect and len(cells) == len(expect)


def test_a_cell_gives_the_same_numbers_whatever_the_order():
    cells = phase_cells("noisy-block", TINY_PARAMS, [0.5], [1, 4], [300], [4],
                        ["jepa-tabular", "count"], [0])
    first = [run_phase_cell(c)["rows"] for c in cells]
    again = [run_phase_cell(c)["rows"] for c in reversed(cells)][::-1]
    for a, b in zip(first, again):
        for ra, rb in zip(a, b):
            assert ra["success"] == rb["success"] and ra["method"] == rb["method"]


def test_default_cells_have_no_planner_key():
    for c in phase_cells("noisy-block", TINY_PARAMS, [0.0], [1], [300], [4],
                         ["jepa-tabular", "count"], [0]):
        assert "planner" not in c
    assert np.isfinite(phase_cell_cost(c))
