"""Literature defaults of the immune kinetics, checkpoint blockade and the profile's parameter priors.

Sources (keys of :data:`oncotwin.defaults.sources.SOURCES`):
    [KU94] Kuznetsov, Makalkin, Taylor & Perelson, Bull. Math. Biol. 56:295, 1994.
    [BU20] Butner et al., Sci. Adv. 6:eaay6298, 2020.
    [ES17] Elassaiss-Schaap et al., CPT Pharmacometrics Syst. Pharmacol. 6:21, 2017.
    [HE05] Hegi et al., N. Engl. J. Med. 352:997, 2005.
    [ANG10] Ang et al., N. Engl. J. Med. 363:24, 2010.
    [SC17] Scott et al., Lancet Oncol. 18:202, 2017.
    [RE16] Reck et al., N. Engl. J. Med. 375:1823, 2016.
    [TU14] Tumeh et al., Nature 515:568, 2014.
    [NA93] Nakamura, Sposto & Akiyama, Radiat. Res. 134:316, 1993.
    [LQ] van Leeuwen et al., Radiat. Oncol. 13:96, 2018.

Kuznetsov et al. 1994 write the effector (E) - tumour (T) kinetics in cells::

    dE/dt = s + p E T / (g + T) - m E T - d E
    dT/dt = a T (1 - b T) - n E T

and fit it to the BCL1 lymphoma in the spleen of chimeric mice (their Section 3). In the scaled variables
x = E / E0, y = T / T0 (E0 = T0 = 1e6 cells) and tau = n T0 t the parameters are sigma = 0.1181,
rho = 1.131, eta = 20.19, mu = 0.00311, delta = 0.3743, alpha = 1.636, beta = 0.002.

Checked: the scaled values above agree with independent implementations of the paper (e.g. the
mmoody1/Tumor-Model code and a Lyon 1 teaching code citing Bull. Math. Biol. 56:295), and the dimensional
values below, the kill n = 1.101e-7 1/(cell day) included, are those of the BioModels entry of the paper
(BIOMD0000000762, "Kuznetsov1994 - Nonlinear dynamics of immunogenic tumors", read in its XPPAUT export in
sys-bio/temp-biomodels, final/BIOMD0000000762/Kuznetsov1994.ode; the file carries no units, which follow
from its rate laws n E T and p E T / (g + T)). They reproduce every scaled value to 4 digits
(tests/kinetics/test_immune.py).
"""

from __future__ import annotations

from oncotwin.defaults.sources import Default, values

# Kuznetsov 1994 dimensional parameters (cells are counted, so cells carry no unit here).
KINETICS_TABLE: dict[str, dict[str, Default]] = {
    "kuznetsov": {
        "recruitment": Default("1.3e4 1/day", "[KU94]: s, cells/day"),
        "stimulation": Default("0.1245 1/day", "[KU94]: p"),
        "stimulation_half": Default(2.019e7, "[KU94]: g, cells"),
        "inactivation": Default("3.422e-10 1/day", "[KU94]: m, 1/(cell day)"),
        "death": Default("0.0412 1/day", "[KU94]: d"),
        "growth": Default("0.18 1/day", "[KU94]: a"),
        "inverse_capacity": Default(2.0e-9, "[KU94]: b, 1/cell"),
        "kill": Default("1.101e-7 1/day", "[KU94]: n, 1/(cell day)"),
    },
}

# PD-1/PD-L1 suppression of the effector functions (kill and stimulated proliferation), lifted in
# proportion to PD-1 occupancy: factor = 1 - S (1 - occupancy). The form is a modelling choice after the
# mechanism of [BU20] (blockade restores the immune kill); S = 0 is the Kuznetsov model.
BLOCKADE_TABLE: dict[str, dict[str, Default]] = {
    "checkpoint": {
        "suppression": Default(0.0, "modelling choice after [BU20]: no PD-L1 given, no suppression (the [KU94] "
                                           "model)"),
        "pembrolizumab_ec50": Default("0.535 mg/L", "[ES17] Table 2: IC50 of ex vivo target engagement"),
    },
}

# Effector transport in tissue (oncotwin.physics.immune).
TRANSPORT_TABLE: dict[str, dict[str, Default]] = {
    "effectors": {
        "diffusivity": Default("0.1 mm^2/day", "modelling choice: the order of the random motility of effector "
                                               "T cells in tissue (speed ~10 um/min, persistence ~2 min)"),
        "death": Default("0.0412 1/day", "[KU94]: d"),
        # exponential survival exp(-alpha D) with alpha = ln 10 / D10; G0 lymphocytes (activated effectors in
        # tissue are likely more resistant); no oxygen modification (a modelling choice)
        "radiosensitivity": Default("0.677 1/Gy", "[NA93]: ln 10 / D10 with D10 = 3.40 Gy of G0 peripheral-blood "
                                                  "lymphocytes in vitro"),
        # both kills have the form K (1 - exp(-delta M)) X with one delta, so at any drug exposure the
        # effectors' log survival is K_L/K_T times the tumour cells' (applied to oncotwin's own tumour kill)
        "chemotherapy_sensitivity": Default(0.054, "[DP09]: K_L / K_T = 0.0486 / 0.9, the cytotoxic kill rate "
                                                   "of CD8+ T cells relative to tumour cells"),
    },
}

# Parameter priors that profile rules act on: the value without any rule, and what it means.
TARGET_TABLE: dict[str, dict[str, Default]] = {
    "targets": {
        "radiosensitivity": Default("0.19 1/Gy", "[LQ]: geometric mean of head-and-neck carcinoma alpha"),
        "temozolomide_effect": Default(1.0, "[HE05]: multiplier of the temozolomide kill rate; 1 = the "
                                            "MGMT-methylated glioblastoma of the library effect"),
        "immune_infiltration": Default(1.0, "[KU94]: multiplier of the effector recruitment s"),
        "antigenicity": Default(1.0, "[KU94]: multiplier of the effector kill rate n"),
        "pdl1_suppression": Default(0.0, "modelling choice: the PD-1/PD-L1 suppression S of the effector "
                                         "functions without a PD-L1 measurement"),
    },
}

TARGET_UNITS: dict[str, str] = {"radiosensitivity": "1/Gy", "temozolomide_effect": "", "immune_infiltration": "",
                                "antigenicity": "", "pdl1_suppression": ""}
"""Internal unit of each target ("" = dimensionless)."""

TARGET_BOUNDS: dict[str, tuple[float, float]] = {"radiosensitivity": (1e-3, 2.0), "temozolomide_effect": (0.0, 10.0),
                                                 "immune_infiltration": (0.0, 100.0), "antigenicity": (0.0, 100.0),
                                                 "pdl1_suppression": (0.0, 1.0)}
"""Range a prior may take after the rules (internal units)."""

GARD_DOSE_PER_FRACTION = 2.0
"""Gy: the dose d of the radiosensitivity index, SF2 [SC17]."""
GARD_BETA = 0.05
"""1/Gy^2: beta of the GARD conversion of RSI to alpha [SC17]."""

KUZNETSOV = values(KINETICS_TABLE)["kuznetsov"]
TRANSPORT = values(TRANSPORT_TABLE)["effectors"]
TARGETS = values(TARGET_TABLE)["targets"]
