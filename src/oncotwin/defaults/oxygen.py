"""Literature default oxygen-transport parameters per tissue kind (internal units: mm, s, mmHg).

Oxygen is described by its partial pressure pO2; concentrations and consumption rates are divided by the
oxygen solubility in tissue, so rates are in mmHg/s. Every value names its source; where a value is a
calibration or a modelling choice rather than a measurement, the comment says so.

Sources:
    [GFP14] D.R. Grimes, A.G. Fletcher, M. Partridge. Oxygen consumption dynamics in steady-state tumour
        models. R. Soc. Open Sci. 1:140080, 2014 (D = 2e-9 m^2/s; hyperbolic (Michaelis-Menten)
        constant of a few mmHg, 2.5 mmHg in their calculations; tumour OCR of order 10-20 mmHg/s).
    [SHPD04] T.W. Secomb, R. Hsu, E.Y.H. Park, M.W. Dewhirst. Green's function methods for analysis of
        oxygen delivery to tissue by microvascular networks. Ann. Biomed. Eng. 32:1519, 2004 (tissue
        O2 solubility 3.89e-5 mL O2 / (mL mmHg); half-maximal consumption at 1 mmHg).
    [LEE90] K.L. Leenders et al. Cerebral blood flow, blood volume and oxygen utilization. Normal values
        and effect of age. Brain 113:27-47, 1990 (CMRO2 of grey matter about 3.5 mL O2/100 mL/min).
    [KBD03] J.P. Kirkpatrick, D.M. Brizel, M.W. Dewhirst. A mathematical model of tumor oxygen and glucose
        mass transport and metabolism with complex reaction kinetics. Radiat. Res. 159:336, 2003
        (capillary inlet pO2 40 mmHg; volume-average tumour pO2 about 8 mmHg).
    [NL07] O. Ndubuizu, J.C. LaManna. Brain tissue oxygen concentration measurements. Antioxid. Redox
        Signal. 9:1207, 2007 (normal cortical tissue pO2 roughly 20-40 mmHg).
    [VKO89] P. Vaupel, F. Kallinowski, P. Okunieff. Blood flow, oxygen and nutrient supply, and metabolic
        microenvironment of human tumors: a review. Cancer Res. 49:6449, 1989 (median tumour pO2 about
        10 mmHg or lower, normal tissues 25-60 mmHg).
    [HV01] M. Hockel, P. Vaupel. Tumor hypoxia: definitions and current clinical, biologic, and molecular
        aspects. J. Natl. Cancer Inst. 93:266, 2001 (radiobiological hypoxia below about 10 mmHg; half of
        the maximal radiosensitivity near 3 mmHg; anoxia / necrosis at about 1 mmHg and below).

Calibration (modelling choice): the vascular transfer rate S_v is not measured directly. In a uniform
medium the balance ``S_v (c_v - c) = V c / (K_m + c)`` fixes the tissue pO2; S_v is chosen so that normal
brain sits at 35 mmHg [NL07] and a tumour region at full cell density (N = 1) at about 7.5 mmHg, i.e.
radiobiologically hypoxic as measured in human tumours [VKO89, KBD03], while a half-dense infiltrative
margin (N = 0.5) stays oxygenated (about 20 mmHg): the hypoxic volume of a tumour is then the part with a
high cell density.
"""

from __future__ import annotations

OXYGEN_DIFFUSIVITY = 2.0e-3  # mm^2/s = 2e-9 m^2/s [GFP14]
HALF_SATURATION = 2.5  # mmHg [GFP14] (literature range 0.5-3 mmHg; 1 mmHg in [SHPD04])
VASCULAR_PO2 = 40.0  # mmHg, capillary pO2 [KBD03]

# V_max of normal brain = CMRO2 / solubility = (3.5 / 100 / 60 1/s) / 3.89e-5 1/mmHg = 15 mmHg/s
# [LEE90, SHPD04].
NORMAL_CONSUMPTION = 15.0  # mmHg/s
# Tumour cells at full density: OCR of the same order as normal brain [GFP14] (modelling choice: equal).
TUMOUR_CONSUMPTION_DEFAULT = 15.0  # mmHg/s

HYPOXIC_THRESHOLD = 10.0  # mmHg [HV01]
NECROTIC_THRESHOLD = 1.0  # mmHg [HV01] (anoxia)

OXYGEN_DEFAULTS: dict[str, dict[str, float]] = {
    # Tumour cells are accounted for by TUMOUR_CONSUMPTION_DEFAULT * N; the tumour region has no
    # separate tissue consumption (modelling choice: host cells are displaced). S_v calibrated: N = 1
    # gives 7.5 mmHg (see the module docstring).
    "tumour": {
        "diffusivity": OXYGEN_DIFFUSIVITY,  # [GFP14]
        "supply_rate": 0.35,  # 1/s, calibrated
        "vascular_po2": VASCULAR_PO2,  # [KBD03]
        "tissue_consumption": 0.0,  # mmHg/s, modelling choice
        "half_saturation": HALF_SATURATION,  # [GFP14]
    },
    # Avascular core without viable cells [BJ90 in oncotwin.defaults.tissue]: no supply, no consumption.
    "necrotic": {
        "diffusivity": OXYGEN_DIFFUSIVITY,  # [GFP14]
        "supply_rate": 0.0,  # avascular
        "vascular_po2": VASCULAR_PO2,  # unused (no supply)
        "tissue_consumption": 0.0,  # no viable cells
        "half_saturation": HALF_SATURATION,
    },
    # Normal brain: S_v calibrated so that 2.8 (40 - 35) = 15 * 35 / (2.5 + 35), i.e. 35 mmHg [NL07].
    "normal": {
        "diffusivity": OXYGEN_DIFFUSIVITY,  # [GFP14]
        "supply_rate": 2.8,  # 1/s, calibrated
        "vascular_po2": VASCULAR_PO2,  # [KBD03]
        "tissue_consumption": NORMAL_CONSUMPTION,  # [LEE90, SHPD04]
        "half_saturation": HALF_SATURATION,  # [GFP14]
    },
}
# Peritumoural edema: normal-tissue vessels and cells (modelling choice; override per case).
OXYGEN_DEFAULTS["edema"] = dict(OXYGEN_DEFAULTS["normal"])
