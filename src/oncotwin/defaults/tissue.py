"""Literature default parameters per tissue kind, with units and sources.

Values are strings with units, exactly as a user would write them in a case file, and go through the
same conversion as user input. Every entry is a :class:`~oncotwin.defaults.sources.Default` that names its
source; where a value is a modelling choice rather than a measurement, the source says so. The plain
tables (``FLUID_DEFAULTS``, ...) and constants (``PROLIFERATION_RATE``, ...) that the case schema reads are
the values of these entries.

Sources (keys of :data:`oncotwin.defaults.sources.SOURCES`):
    [BJ89] Baxter & Jain, Microvasc. Res. 37:77-104, 1989 (Table 1: tumour and normal tissue).
    [BJ90] Baxter & Jain, Microvasc. Res. 40:246-263, 1990.
    [JTM07] Jain, Tong & Munn, Cancer Res. 67:2729, 2007.
    [SW00] Swanson, Alvord & Murray, Cell Prolif. 33:317, 2000.
    [RO10] Rockne et al., Phys. Med. Biol. 55:3271, 2010.
    [HO18] Hormuth et al., J. R. Soc. Interface 14:20161010, 2017, and the 2018 follow-up.
    [BU17] Budday et al., Acta Biomater. 48:319, 2017.
    [ST14] Streitberger et al., PLoS One 9:e110588, 2014.
    [LQ] van Leeuwen et al., Radiat. Oncol. 13:96, 2018.
    [OER] Titz & Jeraj, Phys. Med. Biol. 53:4471, 2008.
"""

from __future__ import annotations

from oncotwin.defaults.sources import Default, values

# Starling/Darcy parameters. The lymphatic filtration coefficient of normal tissue is a modelling choice
# of the order used in [BJ90]/[JTM07]: with the [BJ89] normal-tissue values it gives a normal IFP of
# about 1 mmHg, as measured in normal tissues. Tumours have no functional lymphatics [BJ90, JTM07];
# necrotic cores have no functional vessels [BJ90].
FLUID_TABLE: dict[str, dict[str, Default]] = {
    "tumour": {
        "hydraulic_conductivity": Default("4.13e-8 cm^2/(mmHg*s)", "[BJ89]"),
        "vascular_permeability": Default("2.8e-7 cm/(mmHg*s)", "[BJ89]"),
        "vessel_surface_density": Default("200 1/cm", "[BJ89]"),
        "vascular_pressure": Default("15.6 mmHg", "[BJ89]"),
        "plasma_oncotic_pressure": Default("20 mmHg", "[BJ89]"),
        "interstitial_oncotic_pressure": Default("15 mmHg", "[BJ89]"),
        "reflection_coefficient": Default(0.82, "[BJ89]"),
        "lymphatic_filtration": Default("0 1/(mmHg*s)", "[BJ90, JTM07]: no functional lymphatics"),
        "lymphatic_pressure": Default("0 mmHg", "modelling choice"),
    },
    "necrotic": {
        "hydraulic_conductivity": Default("4.13e-8 cm^2/(mmHg*s)", "[BJ89] tumour interstitium"),
        "vascular_permeability": Default("0 cm/(mmHg*s)", "[BJ90]: avascular"),
        "vessel_surface_density": Default("0 1/cm", "[BJ90]: avascular"),
        "vascular_pressure": Default("15.6 mmHg", "tumour value [BJ89]"),
        "plasma_oncotic_pressure": Default("20 mmHg", "tumour value [BJ89]"),
        "interstitial_oncotic_pressure": Default("15 mmHg", "tumour value [BJ89]"),
        "reflection_coefficient": Default(0.82, "tumour value [BJ89]"),
        "lymphatic_filtration": Default("0 1/(mmHg*s)", "[BJ90]: no functional lymphatics"),
        "lymphatic_pressure": Default("0 mmHg", "modelling choice"),
    },
    "normal": {
        "hydraulic_conductivity": Default("8.53e-9 cm^2/(mmHg*s)", "[BJ89]"),
        "vascular_permeability": Default("0.36e-7 cm/(mmHg*s)", "[BJ89]"),
        "vessel_surface_density": Default("70 1/cm", "[BJ89]"),
        "vascular_pressure": Default("15.6 mmHg", "[BJ89]"),
        "plasma_oncotic_pressure": Default("20 mmHg", "[BJ89]"),
        "interstitial_oncotic_pressure": Default("10 mmHg", "[BJ89]"),
        "reflection_coefficient": Default(0.91, "[BJ89]"),
        "lymphatic_filtration": Default("1.5e-5 1/(mmHg*s)", "modelling choice of the order used in [BJ90]/[JTM07]: "
                                                       "a normal IFP of about 1 mmHg"),
        "lymphatic_pressure": Default("0 mmHg", "modelling choice"),
    },
}
# Peritumoural edema: normal-tissue vessels and lymphatics with a looser, fluid-rich interstitium;
# the conductivity increase (x4) is a modelling choice, override it per case.
FLUID_TABLE["edema"] = dict(FLUID_TABLE["normal"], hydraulic_conductivity=Default(
    "3.4e-8 cm^2/(mmHg*s)", "modelling choice: 4x the normal-tissue value [BJ89]"))

TISSUE_KINDS = ("tumour", "necrotic", "edema", "normal")
TUMOUR_KINDS = ("tumour", "necrotic")


# Region-wise modifiers of a drug's transport parameters (the drug library gives tumour values).
# Modelling choices, to be overridden per case: normal and edematous tissue have a continuous, less
# leaky endothelium than tumours (Jain, Cancer Metastasis Rev. 6:559, 1987: tumour vessels are several
# times more permeable), so their vascular permeability is scaled down; the interstitial diffusivity is
# taken as the tumour's everywhere.
_LESS_LEAKY = "modelling choice (Jain, Cancer Metastasis Rev. 6:559, 1987: tumour vessels are more permeable)"
_TUMOUR_DIFFUSIVITY = "modelling choice: the tumour's interstitial diffusivity everywhere"
DRUG_REGION_TABLE: dict[str, dict[str, Default]] = {
    "tumour": {"permeability_scale": Default(1.0, "drug library values are tumour values"),
               "diffusivity_scale": Default(1.0, "drug library values are tumour values")},
    # no vessels (S/V = 0) anyway
    "necrotic": {"permeability_scale": Default(1.0, "unused: no vessels (S/V = 0)"),
                 "diffusivity_scale": Default(1.0, _TUMOUR_DIFFUSIVITY)},
    "edema": {"permeability_scale": Default(0.3, _LESS_LEAKY),
              "diffusivity_scale": Default(1.0, _TUMOUR_DIFFUSIVITY)},
    "normal": {"permeability_scale": Default(0.1, _LESS_LEAKY),
               "diffusivity_scale": Default(1.0, _TUMOUR_DIFFUSIVITY)},
}


# Tumour growth (two-clone Fisher-Kolmogorov model, oncotwin.kinetics.response/growth).
#   [SW00] white matter 5x grey matter; none in CSF.
#   [RO10] patient fits of D and rho; alpha, alpha/beta = 10 Gy.
#   [HO18] D = D0 exp(-gamma sigma_vm), nu = 0.45.
#   [BU17] mechanical characterization of human brain tissue.
#   [ST14] MR elastography: glioblastomas are softer than normal brain.
_GREY_MATTER = "grey-matter value of [SW00]'s order; a region of white matter should set 5x this"
_NO_SCALE = "modelling choice: the model-wide proliferation rate"
GROWTH_TABLE: dict[str, dict[str, Default]] = {
    "normal": {"diffusivity": Default("0.13 mm^2/day", _GREY_MATTER),
               "proliferation_scale": Default(1.0, _NO_SCALE),
               "initial_density": Default(0.0, "modelling choice: no tumour cells"),
               "initial_necrotic": Default(0.0, "modelling choice: no dead cells")},
    "edema": {"diffusivity": Default("0.13 mm^2/day", _GREY_MATTER),
              "proliferation_scale": Default(1.0, _NO_SCALE),
              "initial_density": Default(0.3, "infiltrating cells seen on FLAIR/T2 but not on T1c: between "
                                              "the 16 % and 80 % edges of [RO10] (modelling choice)"),
              "initial_necrotic": Default(0.0, "modelling choice: no dead cells")},
    "tumour": {"diffusivity": Default("0.13 mm^2/day", _GREY_MATTER),
               "proliferation_scale": Default(1.0, _NO_SCALE),
               "initial_density": Default(0.9, "enhancing viable tumour near carrying capacity, above the "
                                               "80 % T1Gd edge of [RO10] (modelling choice)"),
               "initial_necrotic": Default(0.0, "modelling choice: no dead cells")},
    "necrotic": {"diffusivity": Default("0.13 mm^2/day", _GREY_MATTER + "; cells enter only the space the debris "
                                                       "leaves free (volume exclusion, [SHL09])"),
                 "proliferation_scale": Default(1.0, _NO_SCALE),
                 "initial_density": Default(0.0, "the necrotic core is full of dead cells: no room for "
                                                 "proliferation"),
                 "initial_necrotic": Default(1.0, "the necrotic core is full of dead cells")},
}

_POISSON = "nu as in [HO18]"
MECHANICS_TABLE: dict[str, dict[str, Default]] = {
    "normal": {"young_modulus": Default("2 kPa", "[BU17] ~1-3 kPa"), "poisson_ratio": Default(0.45, _POISSON)},
    "edema": {"young_modulus": Default("1.5 kPa", "modelling choice: softer, wetter"),
              "poisson_ratio": Default(0.45, _POISSON)},
    "tumour": {"young_modulus": Default("1.5 kPa", "[ST14]: glioblastoma softer than brain"),
               "poisson_ratio": Default(0.45, _POISSON)},
    "necrotic": {"young_modulus": Default("1 kPa", "modelling choice"), "poisson_ratio": Default(0.45, _POISSON)},
}

# Model-wide growth and radiotherapy parameters. Radiotherapy, linear-quadratic model: alpha/beta = 10 Gy
# is the usual tumour value ([RO10]; C.M. van Leeuwen et al., Radiat. Oncol. 13:96, 2018); alpha is
# patient specific ([RO10] fits a wide range). Oxygen enhancement (Alper & Howard-Flanders; m = 3,
# K = 3 mmHg as in Titz & Jeraj, PMB 53:4471, 2008).
MODEL_TABLE: dict[str, Default] = {
    "proliferation_rate": Default("0.05 1/day", "within the high-grade range of [RO10] (0.01-0.1 per day)"),
    "necrosis_rate": Default("0.5 1/day", "modelling choice: anoxic cells die within days"),
    "enhancing_threshold": Default(0.8, "T1-gadolinium edge at 80 % of carrying capacity [RO10]"),
    "flair_threshold": Default(0.16, "T2/FLAIR edge at 16 % of carrying capacity [RO10]"),
    "clearance_half_time": Default("10 day", "median T_c of Lim et al., IJROBP 70:126, 2008 (cervix cancer "
                                             "regression under radiotherapy; Chvetsov, IJROBP 75:595, 2009)"),
    "necrotic_clearance_half_time": Default("60 day", "modelling choice, slower than doomed cells (dead-cell "
                                                      "dissolution as in Byrne & Chaplain, Math. Biosci. 135:187, "
                                                      "1996; no clinical measurement: calibrate)"),
    "free_water_adc": Default("3.0e-3 mm^2/s", "[HHS00] self-diffusion of water at 37 C: zero cellularity in "
                                               "the ADC-to-cellularity relation of [ATU11]"),
    "carrying_capacity": Default("1e6 1/mm^3", "estimate: cells of ~10 um diameter packed at ~50 % volume "
                                               "fraction"),
    "stress_coupling": Default("0.5 1/kPa", "modelling choice of the order in [HO18]; calibrate per patient"),
    "growth_strain": Default(0.1, "isotropic eigenstrain at density 1 (modelling choice; calibrate per patient)"),
    "rt_alpha": Default("0.06 1/Gy", "population value; patient specific ([RO10] fits a wide range)"),
    "rt_alpha_beta": Default("10 Gy", "the usual tumour value [RO10, LQ]"),
    "oer_max": Default(3.0, "[OER] (Alper & Howard-Flanders, m = 3)"),
    "oer_k": Default("3 mmHg", "[OER] (K = 3 mmHg)"),
}

FLUID_DEFAULTS: dict[str, dict[str, str | float]] = values(FLUID_TABLE)
DRUG_REGION_SCALES: dict[str, dict[str, float]] = values(DRUG_REGION_TABLE)
GROWTH_DEFAULTS: dict[str, dict[str, str | float]] = values(GROWTH_TABLE)
MECHANICS_DEFAULTS: dict[str, dict[str, str | float]] = values(MECHANICS_TABLE)

PROLIFERATION_RATE = MODEL_TABLE["proliferation_rate"].value
NECROSIS_RATE = MODEL_TABLE["necrosis_rate"].value
ENHANCING_THRESHOLD = MODEL_TABLE["enhancing_threshold"].value
FLAIR_THRESHOLD = MODEL_TABLE["flair_threshold"].value
CLEARANCE_HALF_TIME = MODEL_TABLE["clearance_half_time"].value
NECROTIC_CLEARANCE_HALF_TIME = MODEL_TABLE["necrotic_clearance_half_time"].value
CARRYING_CAPACITY = MODEL_TABLE["carrying_capacity"].value
FREE_WATER_ADC = MODEL_TABLE["free_water_adc"].value
STRESS_COUPLING = MODEL_TABLE["stress_coupling"].value
GROWTH_STRAIN = MODEL_TABLE["growth_strain"].value
RT_ALPHA = MODEL_TABLE["rt_alpha"].value
RT_ALPHA_BETA = MODEL_TABLE["rt_alpha_beta"].value
OER_MAX = MODEL_TABLE["oer_max"].value
OER_K = MODEL_TABLE["oer_k"].value

# Brain tissues of whole-brain meshes (``regions.<name>.tissue``): layered over the region kind's defaults
# (normally ``normal``), under the case's own values. White matter carries invasion 5x faster than grey
# matter and CSF none [SW00]. CSF (ventricles, sulci) has no cells and no vessels (no Starling exchange,
# no oxygen supply or consumption). Mechanics of CSF, a modelling choice: CSF is exchanged with the
# subarachnoid space and resorbed within hours, far faster than a tumour grows, so the ventricles do not
# resist a change of volume; they act as nearly traction-free cavities. They are kept in the mesh as a soft
# (1/20 of the parenchyma [BU17]), compressible (nu = 0.1) solid so that the domain stays one conforming
# mesh and the ventricles relieve the mass effect. The fluid conductivity of free CSF is taken 100x the
# parenchyma's (modelling choice: a free fluid offers far less resistance than the interstitium).
_CSF_FLUID = "modelling choice: free CSF, far less resistance than the interstitium [BJ89] (x100)"
_CSF_DRAINED = ("modelling choice: CSF drains within hours (ventricles nearly traction-free cavities); "
                "1/20 of the parenchyma [BU17]")
BRAIN_TISSUE_TABLE: dict[str, dict[str, dict[str, Default]]] = {
    "grey_matter": {
        "growth": {"diffusivity": Default("0.13 mm^2/day", "grey matter of [SW00] (0.0013 cm^2/day)")},
    },
    "white_matter": {
        "growth": {"diffusivity": Default("0.65 mm^2/day", "white matter 5x grey matter [SW00]")},
    },
    "csf": {
        "growth": {"diffusivity": Default("0 mm^2/day", "no invasion into CSF [SW00]"),
                   "proliferation_scale": Default(0.0, "no tumour cells live in CSF [SW00]")},
        "fluid": {"hydraulic_conductivity": Default("8.53e-7 cm^2/(mmHg*s)", _CSF_FLUID),
                  "vascular_permeability": Default("0 cm/(mmHg*s)", "no vessels in CSF (modelling choice)"),
                  "vessel_surface_density": Default("0 1/cm", "no vessels in CSF (modelling choice)"),
                  "lymphatic_filtration": Default("0 1/(mmHg*s)", "modelling choice: CSF is resorbed outside "
                                                                  "the domain (arachnoid granulations)")},
        "oxygen": {"supply_rate": Default("0 1/s", "no vessels in CSF (modelling choice)"),
                   "tissue_consumption": Default("0 mmHg/s", "no cells in CSF (modelling choice)")},
        "mechanics": {"young_modulus": Default("0.1 kPa", _CSF_DRAINED),
                      "poisson_ratio": Default(0.1, _CSF_DRAINED)},
    },
}
BRAIN_TISSUES = tuple(BRAIN_TISSUE_TABLE)
BRAIN_TISSUE_DEFAULTS: dict[str, dict[str, dict[str, str | float]]] = {
    tissue: values(sections) for tissue, sections in BRAIN_TISSUE_TABLE.items()}
