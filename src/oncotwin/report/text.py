"""Fixed text of the report: the model in words, modelling choices, limitations, literature sources."""

from __future__ import annotations

from oncotwin.defaults.oxygen import CALIBRATION_NOTES
from oncotwin.defaults.sources import SOURCES

MODEL_IN_WORDS = (
    ("Interstitial fluid",
     ("Fluid leaks out of the blood vessels in proportion to the pressure difference across the vessel wall "
     "minus the osmotic (oncotic) difference (Starling's law), flows through the tissue down the pressure "
     "gradient (Darcy's law) and is drained by lymphatics in normal tissue. Tumours have no working "
     "lymphatics, so their interstitial fluid pressure (IFP) rises to near the vascular pressure and fluid "
     "oozes outwards at the tumour rim.")),
    ("Drug transport",
     ("Each drug's plasma concentration follows a compartmental pharmacokinetic model driven by the dosing "
     "schedule and the patient's covariates (body surface area, renal function). From plasma the drug "
     "crosses the vessel wall by diffusion and with the filtered fluid, is carried by the interstitial flow, "
     "diffuses, and is cleared by lymphatics and local decay. Exposure is reported as the area under the "
     "concentration-time curve (AUC) and the peak concentration (Cmax), averaged over the tumour and over "
     "normal tissue.")),
    ("Oxygen",
     ("Oxygen (as partial pressure pO2) is supplied by the vessels, diffuses, and is consumed by host tissue "
     "and by tumour cells in proportion to their density, with saturating (Michaelis-Menten) kinetics. "
     "Tissue below the hypoxia threshold is counted as hypoxic; cells below the anoxia threshold die.")),
    ("Tumour growth and invasion",
     ("Tumour cells (a drug-sensitive and a drug-resistant clone) proliferate logistically up to the "
     "tissue's carrying capacity, more slowly when poorly oxygenated, and invade neighbouring tissue by "
     "diffusion (faster along white than grey matter; slowed by mechanical stress). A small fraction of "
     "divisions of sensitive cells gives resistant daughters. Dead (necrotic) cells keep occupying space. "
     "The reported tumour volume is the volume where the viable plus dead cell density exceeds the imaging "
     "detection threshold.")),
    ("Treatment effect",
     ("Chemotherapy kills sensitive cells at a rate that saturates with the local drug concentration "
     "(Emax / Hill model); resistant cells are not killed. Each radiotherapy fraction kills cells of both "
     "clones by the linear-quadratic model, less so in hypoxic tissue (oxygen enhancement ratio). "
     "Anti-angiogenic therapy, when given, temporarily normalises tumour vessels.")),
    ("Mass effect",
     ("Growing tumour tissue expands (a growth strain proportional to cell density) and pushes the "
     "surrounding tissue, modelled as a linear elastic solid fixed at the outer boundary. The resulting "
     "displacement and von Mises stress are reported; stress slows invasion.")),
)

MODELLING_CHOICES = (
    ("Normal-tissue lymphatic filtration is chosen so that normal interstitial pressure is about 1 mmHg; "
    "tumours and necrotic cores have no lymphatics, necrotic cores no functional vessels."),
    "Peritumoural edema: normal-tissue vessels with a four times more conductive interstitium.",
    ("Drug vessel permeability in normal tissue (x0.1) and edema (x0.3) relative to tumour; the same "
    "interstitial drug diffusivity everywhere."),
    ("Initial cell densities: 0.8 of capacity in the segmented tumour, 0.1 in the edema (cells below the "
    "detection limit), dead cells only in the necrotic core."),
    ("Death rate of anoxic cells (0.5 per day), growth strain (0.1 at full density) and stress coupling "
    "are not measured; they should be calibrated per patient."),
    ("Young's moduli of edema, tumour and necrosis (softer than brain) and the oxygen consumption of tumour "
    "cells (equal to normal brain)."),
    ("The vascular oxygen transfer rate is calibrated so that normal brain sits at about 35 mmHg and a fully "
    "cellular tumour region at about 7.5 mmHg."),
    "Radiosensitivity alpha is patient specific; a population value is used.",
)

LIMITATIONS = (
    "This is a research model, not a validated clinical decision tool. Parameters come from population "
    "studies and animal data, not from this patient, unless the case file says otherwise; the tumour's "
    "response to treatment has not been calibrated to this patient's follow-up imaging. The vasculature is "
    "represented by region-averaged properties (no individual vessels, no blood-flow changes with "
    "treatment except the anti-angiogenic windows); the blood-brain barrier enters only through the "
    "permeability of each region. Drug kill acts on the sensitive clone only and radiotherapy by a "
    "linear-quadratic model with one set of parameters for all cells; there is no immune response, no "
    "cell cycle, no pharmacodynamic toxicity model for bone marrow or other organs (the normal-tissue "
    "exposure reported here is local brain or host-tissue exposure). Volume thresholds for response "
    "categories are applied to the modelled detectable volume, a proxy for imaging-based (RANO/RECIST-like) "
    "assessment. Numbers are shown to three significant digits; this does not imply that precision. "
    "Results should be read as a comparison between regimens under the same assumptions rather than as "
    "absolute predictions."
)


def literature_sources() -> list[tuple[str, str]]:
    """The literature sources of the default parameters (:data:`oncotwin.defaults.sources.SOURCES`).

    Returns:
        ``(key, citation)`` pairs, in the order of the sources table.
    """
    return list(SOURCES.items())


def calibration_notes() -> list[str]:
    """How the calibrated default parameters were calibrated (:data:`oncotwin.defaults.oxygen.CALIBRATION_NOTES`)."""
    return list(CALIBRATION_NOTES)
