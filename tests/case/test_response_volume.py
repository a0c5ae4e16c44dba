"""The response categories' readout: enhancing (RANO) when the case computes it, else the total tumour."""

import pytest

from oncotwin.case.load import read_case
from oncotwin.case.regimens import ResponseThresholds, response_volume
from oncotwin.core.errors import CaseError

SPHERE = "cases/sphere_baxter_jain.yaml"


@pytest.fixture
def case_with(tmp_path):
    def make(readouts):
        growth = f"physics:\n  growth: {{readouts: [{', '.join(readouts)}]}}\n"
        base = open(SPHERE).read().replace("physics:\n", growth, 1)
        path = tmp_path / "case.yaml"
        path.write_text(base + 'time: {end: "7 day"}\n')
        return read_case(path)[0]
    return make


def test_auto_takes_the_enhancing_readout_when_the_case_has_it(case_with):
    assert response_volume(ResponseThresholds(), case_with(["enhancing", "flair"]), "r.yaml", {}) == \
        "enhancing_volume_mm3"
    assert response_volume(ResponseThresholds(), case_with([]), "r.yaml", {}) == "tumour_volume_mm3"


def test_an_explicit_readout_the_case_does_not_compute_is_refused(case_with):
    message = r"r.yaml: key 'response.volume': got 'flair_volume_mm3'; the case computes no 'flair'"
    with pytest.raises(CaseError, match=message):
        response_volume(ResponseThresholds(volume="flair_volume_mm3"), case_with(["enhancing"]), "r.yaml", {})
    assert response_volume(ResponseThresholds(volume="tumour_volume_mm3"), case_with(["enhancing"]), "r.yaml",
                           {}) == "tumour_volume_mm3"
