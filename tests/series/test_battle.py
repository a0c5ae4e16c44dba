"""The model-battle protocol on the Laleh data: LOCF exactly as published, GB and Gompertz within 15 %."""

from __future__ import annotations

import numpy as np
import pytest

from oncotwin.series.battle import (
    bootstrap_difference,
    bootstrap_mean,
    exclusion_mask,
    locf_errors,
    model_errors,
    split,
)
from oncotwin.series.registry import MODELS
from oncotwin.series.table import read_table


@pytest.fixture
def parts(data_dir):
    return split(read_table(data_dir / "laleh2022_lesions" / "lesions.csv", strict=False))


@pytest.mark.data
def test_locf_reproduces_the_published_baseline(parts):
    errors = locf_errors(parts)
    assert len(errors) == 368
    assert errors.mean() == pytest.approx(0.00268, abs=5e-6)
    assert errors[errors <= 0.1].mean() == pytest.approx(0.00203, abs=5e-6)


@pytest.mark.data
def test_general_bertalanffy_and_gompertz_within_15_percent_of_published(parts):
    gb = model_errors(MODELS["general_bertalanffy"], parts)
    gompertz = model_errors(MODELS["gompertz"], parts)
    assert gb.mean() == pytest.approx(0.00273, rel=0.15)
    assert gompertz.mean() == pytest.approx(0.00281, rel=0.15)
    assert gb.mean() < gompertz.mean()  # the published order


def test_bootstrap_difference_detects_a_shift_and_not_noise():
    rng = np.random.default_rng(0)
    a = rng.exponential(1.0, 400)
    assert bootstrap_difference(a + 0.5, a)["excludes_zero"]
    assert not bootstrap_difference(a, rng.permutation(a))["excludes_zero"]
    summary = bootstrap_mean(a)
    assert summary["mean_lo"] < summary["mean"] < summary["mean_hi"]


def test_exclusion_drops_lesions_where_any_method_erred_or_failed():
    mask = exclusion_mask({"a": np.array([0.01, 0.2, 0.01]), "b": np.array([0.01, 0.01, np.nan])})
    assert mask.tolist() == [True, False, False]
