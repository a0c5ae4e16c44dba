"""CSF from the patient's own scan: a Gaussian mixture of its intensities, replacing the atlas CSF.

A registered atlas places the ventricles where a young adult's are (MNI152 2009a). On BraTS pat0001 the
patient's ventricles are larger and displaced by the tumour: of the deep brain voxels that are dark on
the T1c (the ventricles), only 18 % get CSF from the warped atlas. The scan itself shows CSF: on T1, T1c
and FLAIR it is the darkest tissue class, on T2 the brightest. The class is found by a three-class
Gaussian mixture of the scan's intensities in the brain, the lesion left out (the intensity model of
unified tissue segmentation, Ashburner & Friston 2005, NeuroImage 26:839, without its spatial priors),
fitted with scikit-learn. Its posterior probability of the CSF class becomes the CSF map; the grey and
white maps keep their atlas ratio and share the rest. Inside the lesion the atlas maps are kept (the
scan shows tumour there, not the tissue it grew into).
"""

from __future__ import annotations

import numpy as np

CLASSES = 3  # CSF, grey and white matter
MAX_SAMPLES = 200_000  # voxels the mixture is fitted on (a regular subsample: deterministic)


def csf_probability(image: np.ndarray, brain: np.ndarray, lesion: np.ndarray, contrast: str,
                    seed: int = 0) -> tuple[np.ndarray, float]:
    """Posterior probability of the CSF intensity class at every voxel of ``brain`` (0 outside).

    Args:
        image: the scan.
        brain: the brain mask.
        lesion: voxels left out of the fit (tumour and edema, dilated).
        contrast: ``dark`` (T1, T1c, FLAIR: CSF is the darkest class) or ``bright`` (T2).
        seed: the mixture's initialisation seed.

    Returns:
        The probability map and the CSF class's mean intensity.
    """
    from sklearn.mixture import GaussianMixture

    fit_voxels = image[brain & ~lesion].astype(np.float64)
    step = max(1, len(fit_voxels) // MAX_SAMPLES)
    mixture = GaussianMixture(CLASSES, random_state=seed).fit(fit_voxels[::step, None])
    means = mixture.means_.ravel()
    csf_class = int(np.argmin(means) if contrast == "dark" else np.argmax(means))
    probability = np.zeros(image.shape, dtype=np.float32)
    probability[brain] = mixture.predict_proba(image[brain].astype(np.float64)[:, None])[:, csf_class]
    return probability, float(means[csf_class])


def with_patient_csf(grey: np.ndarray, white: np.ndarray, csf: np.ndarray, patient_csf: np.ndarray,
                     brain: np.ndarray, keep: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Maps with the patient's CSF on ``brain`` outside ``keep``; grey and white share the rest.

    Args:
        grey, white, csf: the atlas maps (summing to 1 on ``brain``).
        patient_csf: the CSF probability from the scan.
        brain: the brain mask.
        keep: voxels where the atlas maps are kept (the lesion).

    Returns:
        Grey, white and CSF maps (float32) summing to 1 on ``brain``, 0 outside.
    """
    replace = brain & ~keep
    matter = grey + white
    grey_share = np.where(matter > 1e-6, grey / np.where(matter > 1e-6, matter, 1.0), 0.5)
    new_csf = np.where(replace, patient_csf, csf)
    new_grey = np.where(replace, (1.0 - patient_csf) * grey_share, grey)
    new_white = np.where(replace, (1.0 - patient_csf) * (1.0 - grey_share), white)
    return tuple(np.where(brain, m, 0.0).astype(np.float32) for m in (new_grey, new_white, new_csf))
