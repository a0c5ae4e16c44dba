"""Literature default parameters per tissue kind, with units and sources.

Values are strings with units, exactly as a user would write them in a case file, and go through the
same conversion as user input. Every entry names its source; where a value is a modelling choice rather
than a measurement, the comment says so.

Sources:
    [BJ89] L.T. Baxter, R.K. Jain. Transport of fluid and macromolecules in tumors. I. Role of interstitial
        pressure and convection. Microvasc. Res. 37:77-104, 1989 (Table 1: tumour and normal tissue).
    [BJ90] L.T. Baxter, R.K. Jain. Transport of fluid and macromolecules in tumors. II. Role of heterogeneous
        perfusion and lymphatics. Microvasc. Res. 40:246-263, 1990.
    [JTM07] R.K. Jain, R.T. Tong, L.L. Munn. Effect of vascular normalization by antiangiogenic therapy on
        interstitial hypertension, peritumor edema, and lymphatic metastasis. Cancer Res. 67:2729, 2007.
"""

from __future__ import annotations

# Starling/Darcy parameters. The lymphatic filtration coefficient of normal tissue is a modelling choice
# of the order used in [BJ90]/[JTM07]: with the [BJ89] normal-tissue values it gives a normal IFP of
# about 1 mmHg, as measured in normal tissues. Tumours have no functional lymphatics [BJ90, JTM07];
# necrotic cores have no functional vessels [BJ90].
FLUID_DEFAULTS: dict[str, dict[str, str | float]] = {
    "tumour": {
        "hydraulic_conductivity": "4.13e-8 cm^2/(mmHg*s)",  # [BJ89]
        "vascular_permeability": "2.8e-7 cm/(mmHg*s)",  # [BJ89]
        "vessel_surface_density": "200 1/cm",  # [BJ89]
        "vascular_pressure": "15.6 mmHg",  # [BJ89]
        "plasma_oncotic_pressure": "20 mmHg",  # [BJ89]
        "interstitial_oncotic_pressure": "15 mmHg",  # [BJ89]
        "reflection_coefficient": 0.82,  # [BJ89]
        "lymphatic_filtration": "0 1/(mmHg*s)",  # [BJ90]: no functional lymphatics
        "lymphatic_pressure": "0 mmHg",
    },
    "necrotic": {
        "hydraulic_conductivity": "4.13e-8 cm^2/(mmHg*s)",  # [BJ89] tumour interstitium
        "vascular_permeability": "0 cm/(mmHg*s)",  # [BJ90]: avascular
        "vessel_surface_density": "0 1/cm",
        "vascular_pressure": "15.6 mmHg",
        "plasma_oncotic_pressure": "20 mmHg",
        "interstitial_oncotic_pressure": "15 mmHg",
        "reflection_coefficient": 0.82,
        "lymphatic_filtration": "0 1/(mmHg*s)",
        "lymphatic_pressure": "0 mmHg",
    },
    "normal": {
        "hydraulic_conductivity": "8.53e-9 cm^2/(mmHg*s)",  # [BJ89]
        "vascular_permeability": "0.36e-7 cm/(mmHg*s)",  # [BJ89]
        "vessel_surface_density": "70 1/cm",  # [BJ89]
        "vascular_pressure": "15.6 mmHg",  # [BJ89]
        "plasma_oncotic_pressure": "20 mmHg",  # [BJ89]
        "interstitial_oncotic_pressure": "10 mmHg",  # [BJ89]
        "reflection_coefficient": 0.91,  # [BJ89]
        "lymphatic_filtration": "1.5e-5 1/(mmHg*s)",  # modelling choice, see above
        "lymphatic_pressure": "0 mmHg",
    },
}
# Peritumoural edema: normal-tissue vessels and lymphatics with a looser, fluid-rich interstitium;
# the conductivity increase (x4) is a modelling choice, override it per case.
FLUID_DEFAULTS["edema"] = dict(FLUID_DEFAULTS["normal"], hydraulic_conductivity="3.4e-8 cm^2/(mmHg*s)")

TISSUE_KINDS = ("tumour", "necrotic", "edema", "normal")
TUMOUR_KINDS = ("tumour", "necrotic")


# Region-wise modifiers of a drug's transport parameters (the drug library gives tumour values).
# Modelling choices, to be overridden per case: normal and edematous tissue have a continuous, less
# leaky endothelium than tumours (Jain, Cancer Metastasis Rev. 6:559, 1987: tumour vessels are several
# times more permeable), so their vascular permeability is scaled down; the interstitial diffusivity is
# taken as the tumour's everywhere.
DRUG_REGION_SCALES: dict[str, dict[str, float]] = {
    "tumour": {"permeability_scale": 1.0, "diffusivity_scale": 1.0},
    "necrotic": {"permeability_scale": 1.0, "diffusivity_scale": 1.0},  # no vessels (S/V = 0) anyway
    "edema": {"permeability_scale": 0.3, "diffusivity_scale": 1.0},
    "normal": {"permeability_scale": 0.1, "diffusivity_scale": 1.0},
}


# Tumour growth (two-clone Fisher-Kolmogorov model, oncotwin.kinetics.response/growth).
#   [SW00] K.R. Swanson, E.C. Alvord, J.D. Murray. A quantitative model for differential motility of gliomas
#       in grey and white matter. Cell Prolif. 33:317, 2000 (white matter 5x grey matter; none in CSF).
#   [RO10] R. Rockne et al. Predicting the efficacy of radiotherapy in individual glioblastoma patients
#       in vivo. Phys. Med. Biol. 55:3271, 2010 (patient fits of D and rho; alpha, alpha/beta = 10 Gy).
#   [HO18] D.A. Hormuth et al. A mechanically coupled reaction-diffusion model that incorporates
#       intra-tumoural heterogeneity to predict in vivo glioma growth. J. R. Soc. Interface 14:20161010, 2017;
#       and the 2018 follow-up (D = D0 exp(-gamma sigma_vm), nu = 0.45).
#   [BU17] S. Budday et al. Mechanical characterization of human brain tissue. Acta Biomater. 48:319, 2017.
#   [ST14] K.J. Streitberger et al. High-resolution MR elastography reveals glioblastomas are softer than
#       normal brain. PLoS One 9:e110588, 2014.
GROWTH_DEFAULTS: dict[str, dict[str, str | float]] = {
    # grey-matter value of [SW00]'s order; a region of white matter should set 5x this
    "normal": {"diffusivity": "0.13 mm^2/day", "proliferation_scale": 1.0,
               "initial_density": 0.0, "initial_necrotic": 0.0},
    # infiltrating cells below the T1c detection limit (modelling choice: 0.1 of carrying capacity)
    "edema": {"diffusivity": "0.13 mm^2/day", "proliferation_scale": 1.0,
              "initial_density": 0.1, "initial_necrotic": 0.0},
    # enhancing (or non-enhancing) viable tumour near carrying capacity (modelling choice)
    "tumour": {"diffusivity": "0.13 mm^2/day", "proliferation_scale": 1.0,
               "initial_density": 0.8, "initial_necrotic": 0.0},
    # the necrotic core is full of dead cells: no room for proliferation
    "necrotic": {"diffusivity": "0.13 mm^2/day", "proliferation_scale": 1.0,
                 "initial_density": 0.0, "initial_necrotic": 1.0},
}
PROLIFERATION_RATE = "0.05 1/day"  # within the high-grade range of [RO10] (0.01-0.1 per day)
NECROSIS_RATE = "0.5 1/day"  # modelling choice: anoxic cells die within days
CARRYING_CAPACITY = "1e6 1/mm^3"  # cells of ~10 um diameter packed at ~50 % volume fraction
STRESS_COUPLING = "0.5 1/kPa"  # modelling choice of the order in [HO18]; calibrate per patient
GROWTH_STRAIN = 0.1  # isotropic eigenstrain at density 1 (modelling choice; calibrate per patient)

MECHANICS_DEFAULTS: dict[str, dict[str, str | float]] = {
    "normal": {"young_modulus": "2 kPa", "poisson_ratio": 0.45},  # [BU17] ~1-3 kPa; nu as in [HO18]
    "edema": {"young_modulus": "1.5 kPa", "poisson_ratio": 0.45},  # modelling choice: softer, wetter
    "tumour": {"young_modulus": "1.5 kPa", "poisson_ratio": 0.45},  # [ST14]: glioblastoma softer than brain
    "necrotic": {"young_modulus": "1 kPa", "poisson_ratio": 0.45},  # modelling choice
}

# Radiotherapy, linear-quadratic model. alpha/beta = 10 Gy is the usual tumour value ([RO10]; C.M. van
# Leeuwen et al., Radiat. Oncol. 13:96, 2018); alpha is patient specific ([RO10] fits a wide range).
RT_ALPHA = "0.06 1/Gy"
RT_ALPHA_BETA = "10 Gy"
# Oxygen enhancement (Alper & Howard-Flanders; m = 3, K = 3 mmHg as in Titz & Jeraj, PMB 53:4471, 2008)
OER_MAX = 3.0
OER_K = "3 mmHg"
