"""CSF from the scan's intensities: the mixture finds the patient's ventricle where the atlas misses it."""

from __future__ import annotations

import numpy as np
import pytest

from oncotwin.imaging.csf import csf_probability, with_patient_csf

N = 40


def phantom(contrast: str, seed: int = 3):
    """A brain ball with a grey shell, white core, a CSF ventricle (off-centre) and a lesion."""
    rng = np.random.default_rng(seed)
    x = np.stack(np.meshgrid(*[np.arange(N) - N / 2 + 0.5] * 3, indexing="ij"))
    r = np.linalg.norm(x, axis=0)
    brain = r < 18
    ventricle = np.linalg.norm(x - np.array([5.0, 0, 0])[:, None, None, None], axis=0) < 5
    lesion = np.linalg.norm(x - np.array([-9.0, 0, 0])[:, None, None, None], axis=0) < 4
    grey_true = brain & (r > 13) & ~ventricle
    # intensities of T1 (CSF dark, grey mid, white bright) or T2 (inverted); the lesion is dark-ish too
    levels = {"csf": 0.2, "grey": 0.6, "white": 0.9} if contrast == "dark" else {"csf": 0.9, "grey": 0.6, "white": 0.3}
    image = np.where(grey_true, levels["grey"], levels["white"])
    image = np.where(ventricle, levels["csf"], image)
    image = np.where(lesion, levels["csf"] + 0.05, image) + rng.normal(0, 0.04, brain.shape)
    image = np.where(brain, image, 0.0)
    # atlas maps with the ventricle in the wrong place (mirrored), summing to 1 in the brain
    atlas_ventricle = np.linalg.norm(x + np.array([5.0, 0, 0])[:, None, None, None], axis=0) < 3
    csf = atlas_ventricle.astype(float)
    grey = np.where(r > 13, 1.0 - csf, 0.2 * (1 - csf))
    white = 1.0 - grey - csf
    return image, brain, ventricle, lesion, [np.where(brain, m, 0.0) for m in (grey, white, csf)]


@pytest.mark.parametrize("contrast", ["dark", "bright"])
def test_the_patients_ventricle_becomes_csf_and_the_maps_still_sum_to_one(contrast):
    image, brain, ventricle, lesion, (grey, white, csf) = phantom(contrast)
    probability, mean = csf_probability(image, brain, lesion, contrast)
    assert mean == pytest.approx(0.2 if contrast == "dark" else 0.9, abs=0.03)
    assert float(np.mean(probability[ventricle] > 0.5)) > 0.97
    assert float(np.mean(probability[brain & ~ventricle & ~lesion] > 0.5)) < 0.01
    new = with_patient_csf(grey, white, csf, probability, brain, lesion)
    np.testing.assert_allclose(sum(new)[brain], 1.0, atol=1e-6)
    assert all(float(np.abs(m[~brain]).max()) == 0.0 for m in new)
    assert float(np.mean(new[2][ventricle] > 0.5)) > 0.97  # the atlas had no CSF there
    for atlas_map, refined in zip((grey, white, csf), new):  # inside the lesion the atlas is kept
        np.testing.assert_allclose(refined[lesion], atlas_map[lesion], atol=1e-7)
    # grey and white keep their atlas ratio where they share the rest
    outside = brain & ~lesion & (grey + white > 0.1)
    np.testing.assert_allclose((new[0] / (new[0] + new[1] + 1e-30))[outside & (new[2] < 0.5)],
                               (grey / (grey + white))[outside & (new[2] < 0.5)], atol=1e-5)


def test_the_mixture_is_deterministic():
    image, brain, _, lesion, _ = phantom("dark")
    a, _ = csf_probability(image, brain, lesion, "dark")
    b, _ = csf_probability(image, brain, lesion, "dark")
    np.testing.assert_array_equal(a, b)


def test_the_case_option_replaces_the_registered_atlas_csf(tmp_path, monkeypatch):
    """``geometry.atlas.csf_from_image: dark`` is applied to the registered maps (registration stubbed)."""
    import nibabel as nib

    from oncotwin.case.geometry import AtlasRegistration
    from oncotwin.imaging import images
    from oncotwin.imaging.registration import AtlasMaps
    from oncotwin.mesh import anatomy

    image, brain, ventricle, lesion, (grey, white, csf) = phantom("dark")
    for name, array in (("t1.nii.gz", image.astype(np.float32)), ("labels.nii.gz", lesion.astype(np.uint8)),
                        ("brain.nii.gz", brain.astype(np.uint8))):
        nib.save(nib.Nifti1Image(array, np.eye(4)), str(tmp_path / name))
    atlas = AtlasMaps(*(m.astype(np.float32) for m in (grey, white, csf)), atlas_brain=brain, dice=0.99,
                      metric=-0.5, seconds=0.0)
    monkeypatch.setattr(anatomy, "atlas_tissue_maps", lambda *args, **kwargs: atlas)

    class Geometry:  # the two fields registered_tissue_maps reads
        image = tmp_path / "t1.nii.gz"

    messages = []
    for option, expect_ventricle_csf in (("off", False), ("dark", True)):
        Geometry.atlas = AtlasRegistration(csf_from_image=option)
        maps = anatomy.registered_tissue_maps(Geometry, images.read_label_map(tmp_path / "labels.nii.gz", "labels"),
                                              images.read_mask(tmp_path / "brain.nii.gz", "tissue_mask"), lesion,
                                              messages.append)
        assert (float(np.mean(maps["csf"][ventricle] > 0.5)) > 0.97) == expect_ventricle_csf
    assert "CSF from t1.nii.gz (dark class" in messages[-1]
