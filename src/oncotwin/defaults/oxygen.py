"""Literature default oxygen-transport parameters per tissue kind (internal units: mm, s, mmHg).

Oxygen is described by its partial pressure pO2; concentrations and consumption rates are divided by the
oxygen solubility in tissue, so rates are in mmHg/s. Every value is a
:class:`~oncotwin.defaults.sources.Default` that names its source; where a value is a calibration or a
modelling choice rather than a measurement, the source says so. The plain table ``OXYGEN_DEFAULTS`` and
the constants (``HYPOXIC_THRESHOLD``, ...) that the case schema and the oxygen problem read are the
values of these entries.

Sources (keys of :data:`oncotwin.defaults.sources.SOURCES`):
    [GFP14] Grimes, Fletcher & Partridge, R. Soc. Open Sci. 1:140080, 2014 (D = 2e-9 m^2/s; hyperbolic
        (Michaelis-Menten) constant of a few mmHg, 2.5 mmHg in their calculations; tumour OCR of order
        10-20 mmHg/s).
    [SHPD04] Secomb, Hsu, Park & Dewhirst, Ann. Biomed. Eng. 32:1519, 2004 (tissue O2 solubility
        3.89e-5 mL O2 / (mL mmHg); half-maximal consumption at 1 mmHg).
    [LEE90] Leenders et al., Brain 113:27-47, 1990 (CMRO2 of grey matter about 3.5 mL O2/100 mL/min).
    [KBD03] Kirkpatrick, Brizel & Dewhirst, Radiat. Res. 159:336, 2003 (capillary inlet pO2 40 mmHg;
        volume-average tumour pO2 about 8 mmHg).
    [NL07] Ndubuizu & LaManna, Antioxid. Redox Signal. 9:1207, 2007 (normal cortical tissue pO2 roughly
        20-40 mmHg).
    [VKO89] Vaupel, Kallinowski & Okunieff, Cancer Res. 49:6449, 1989 (median tumour pO2 about 10 mmHg or
        lower, normal tissues 25-60 mmHg).
    [HV01] Hockel & Vaupel, J. Natl. Cancer Inst. 93:266, 2001 (radiobiological hypoxia below about
        10 mmHg; half of the maximal radiosensitivity near 3 mmHg; anoxia / necrosis at about 1 mmHg and
        below).
    [HOL99] Holash et al., Science 284:1994, 1999 (host vessels co-opted by the tumour regress inside it,
        leaving a secondarily avascular, necrotic core; the margin keeps its vessels).
    [GT06] Gevertz & Torquato, J. Theor. Biol. 243:517, 2006 (co-option and regression of the vessels in a
        brain-tumour growth model; necrosis where the supply fails).
    [PAD04] Padera et al., Nature 427:695, 2004 (cancer cells compress and collapse intratumour vessels).

The calibration of the vascular transfer rate S_v (a modelling choice) is :data:`CALIBRATION_NOTES`.
"""

from __future__ import annotations

from oncotwin.defaults.sources import Default, values

CALIBRATION_NOTES = (
    ("Calibration (modelling choice): the vascular transfer rate S_v is not measured directly. In a uniform "
     "medium the balance ``S_v (c_v - c) = V c / (K_m + c)`` fixes the tissue pO2; S_v is chosen so that normal "
     "brain sits at 35 mmHg [NL07] and a tumour region at full cell density (N = 1) at about 7.5 mmHg, i.e. "
     "radiobiologically hypoxic as measured in human tumours [VKO89, KBD03], while a half-dense infiltrative "
     "margin (N = 0.5) stays oxygenated (about 20 mmHg): the hypoxic volume of a tumour is then the part with a "
     "high cell density."),
    ("Vessel regression (modelling choice, on by default): S_v is the supply of the intact, co-opted vessels; "
     "the vessels regress as the tumour fills the tissue [HOL99, GT06, PAD04], intact up to the enhancing "
     "baseline occupancy 0.9 (about 9.5 mmHg) and gone at full occupancy, so a tumour that grows dense becomes "
     "anoxic (below 1 mmHg [HV01] for a uniform occupancy above about 0.97) and new necrosis forms."),
)

MODEL_TABLE: dict[str, Default] = {
    "diffusivity": Default(2.0e-3, "[GFP14]", "mm^2/s"),  # = 2e-9 m^2/s
    "half_saturation": Default(2.5, "[GFP14] (literature range 0.5-3 mmHg; 1 mmHg in [SHPD04])", "mmHg"),
    "vascular_po2": Default(40.0, "capillary pO2 [KBD03]", "mmHg"),
    # V_max of normal brain = CMRO2 / solubility = (3.5 / 100 / 60 1/s) / 3.89e-5 1/mmHg = 15 mmHg/s
    # [LEE90, SHPD04].
    "normal_consumption": Default(15.0, "[LEE90, SHPD04]", "mmHg/s"),
    # Tumour cells at full density: OCR of the same order as normal brain [GFP14] (modelling choice: equal).
    "tumour_consumption": Default(15.0, "of the order of normal brain [GFP14] (modelling choice: equal)", "mmHg/s"),
    "hypoxic_threshold": Default(10.0, "[HV01]", "mmHg"),
    "necrotic_threshold": Default(1.0, "[HV01] (anoxia)", "mmHg"),
    # Vessel co-option then regression [HOL99, GT06]: the supply is intact up to the onset density and falls
    # linearly to the residual fraction at full occupancy (complete regression: a secondarily avascular core
    # [HOL99], vessels collapsed by the cells [PAD04]). Onset: the baseline density of an enhancing tumour
    # (oncotwin.defaults.tissue, above the 80 % T1Gd edge [RO10]); contrast enhancement shows perfused
    # vessels, so the imaged tumour keeps its co-opted vessels and they regress only as it fills up. Both
    # numbers are modelling choices.
    "regression_onset": Default(0.9, "[HOL99, GT06, RO10] (modelling choice: the perfused, enhancing baseline "
                                     "density)", "fraction of carrying capacity"),
    "regression_residual": Default(0.0, "[HOL99, PAD04] (modelling choice: complete regression)",
                                   "fraction of the vascular supply"),
}

OXYGEN_DIFFUSIVITY = MODEL_TABLE["diffusivity"].value
HALF_SATURATION = MODEL_TABLE["half_saturation"].value
VASCULAR_PO2 = MODEL_TABLE["vascular_po2"].value
NORMAL_CONSUMPTION = MODEL_TABLE["normal_consumption"].value
TUMOUR_CONSUMPTION_DEFAULT = MODEL_TABLE["tumour_consumption"].value
HYPOXIC_THRESHOLD = MODEL_TABLE["hypoxic_threshold"].value
NECROTIC_THRESHOLD = MODEL_TABLE["necrotic_threshold"].value
REGRESSION_ONSET = MODEL_TABLE["regression_onset"].value
REGRESSION_RESIDUAL = MODEL_TABLE["regression_residual"].value

_DIFFUSIVITY = MODEL_TABLE["diffusivity"]
_HALF_SATURATION = MODEL_TABLE["half_saturation"]
_VASCULAR_PO2 = MODEL_TABLE["vascular_po2"]
OXYGEN_TABLE: dict[str, dict[str, Default]] = {
    # Tumour cells are accounted for by TUMOUR_CONSUMPTION_DEFAULT * N; the tumour region has no
    # separate tissue consumption (modelling choice: host cells are displaced). S_v calibrated: N = 1
    # gives 7.5 mmHg (see CALIBRATION_NOTES).
    "tumour": {
        "diffusivity": _DIFFUSIVITY,
        "supply_rate": Default(0.35, "calibrated (CALIBRATION_NOTES): N = 1 gives 7.5 mmHg", "1/s"),
        "vascular_po2": _VASCULAR_PO2,
        "tissue_consumption": Default(0.0, "modelling choice: host cells are displaced", "mmHg/s"),
        "half_saturation": _HALF_SATURATION,
    },
    # Avascular core without viable cells [BJ90 in oncotwin.defaults.tissue]: no supply, no consumption.
    "necrotic": {
        "diffusivity": _DIFFUSIVITY,
        "supply_rate": Default(0.0, "avascular [BJ90]", "1/s"),
        "vascular_po2": Default(VASCULAR_PO2, "unused (no supply)", "mmHg"),
        "tissue_consumption": Default(0.0, "no viable cells", "mmHg/s"),
        "half_saturation": _HALF_SATURATION,
    },
    # Normal brain: S_v calibrated so that 2.8 (40 - 35) = 15 * 35 / (2.5 + 35), i.e. 35 mmHg [NL07].
    "normal": {
        "diffusivity": _DIFFUSIVITY,
        "supply_rate": Default(2.8, "calibrated: normal brain at 35 mmHg [NL07]", "1/s"),
        "vascular_po2": _VASCULAR_PO2,
        "tissue_consumption": MODEL_TABLE["normal_consumption"],
        "half_saturation": _HALF_SATURATION,
    },
}
# Peritumoural edema: normal-tissue vessels and cells (modelling choice; override per case).
OXYGEN_TABLE["edema"] = dict(OXYGEN_TABLE["normal"])

OXYGEN_DEFAULTS: dict[str, dict[str, float]] = values(OXYGEN_TABLE)
