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
