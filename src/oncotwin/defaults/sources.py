"""The literature sources of the default parameters, and the record that ties a default to its source.

Every default in :mod:`oncotwin.defaults.tissue` and :mod:`oncotwin.defaults.oxygen` is a
:class:`Default`: its value (with its unit) and where it comes from, as citation keys of
:data:`SOURCES` in brackets (``"[BJ89]"``) and/or words (``"modelling choice"``). The report lists
:data:`SOURCES` in this order.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

SOURCES: dict[str, str] = {
    # fluid (oncotwin.defaults.tissue)
    "BJ89": ("L.T. Baxter, R.K. Jain. Transport of fluid and macromolecules in tumors. I. Role of interstitial "
             "pressure and convection. Microvasc. Res. 37:77-104, 1989 (Table 1: tumour and normal tissue)."),
    "BJ90": ("L.T. Baxter, R.K. Jain. Transport of fluid and macromolecules in tumors. II. Role of heterogeneous "
             "perfusion and lymphatics. Microvasc. Res. 40:246-263, 1990."),
    "JTM07": ("R.K. Jain, R.T. Tong, L.L. Munn. Effect of vascular normalization by antiangiogenic therapy on "
              "interstitial hypertension, peritumor edema, and lymphatic metastasis. Cancer Res. 67:2729, 2007."),
    # tumour growth and mechanics (oncotwin.defaults.tissue)
    "SW00": ("K.R. Swanson, E.C. Alvord, J.D. Murray. A quantitative model for differential motility of gliomas "
             "in grey and white matter. Cell Prolif. 33:317, 2000 (white matter 5x grey matter; none in CSF)."),
    "RO10": ("R. Rockne et al. Predicting the efficacy of radiotherapy in individual glioblastoma patients "
             "in vivo. Phys. Med. Biol. 55:3271, 2010 (patient fits of D and rho; alpha, alpha/beta = 10 Gy)."),
    "HO18": ("D.A. Hormuth et al. A mechanically coupled reaction-diffusion model that incorporates "
             "intra-tumoural heterogeneity to predict in vivo glioma growth. J. R. Soc. Interface 14:20161010, 2017; "
             "and the 2018 follow-up (D = D0 exp(-gamma sigma_vm), nu = 0.45)."),
    "SHL09": ("M.J. Simpson, B.D. Hughes, K.A. Landman. Multi-species simple exclusion processes. Physica A "
              "388:399-406, 2009 (motile cells among immobile occupants: flux -D[(1 - w) grad u + u grad w])."),
    "ATU11": ("N.C. Atuegwu et al. Integration of diffusion-weighted MRI data and a simple mathematical model to "
              "predict breast tumor cellularity during neoadjuvant chemotherapy. Magn. Reson. Med. 66:1689, 2011 "
              "(N = theta (ADC_w - ADC)/(ADC_w - ADC_min))."),
    "HHS00": ("M. Holz, S.R. Heil, A. Sacco. Temperature-dependent self-diffusion coefficients of water and six "
              "selected molecular liquids. Phys. Chem. Chem. Phys. 2:4740, 2000 (water about 3.0e-9 m^2/s at "
              "37 C)."),
    "BU17": "S. Budday et al. Mechanical characterization of human brain tissue. Acta Biomater. 48:319, 2017.",
    "ST14": ("K.J. Streitberger et al. High-resolution MR elastography reveals glioblastomas are softer than "
             "normal brain. PLoS One 9:e110588, 2014."),
    # oxygen (oncotwin.defaults.oxygen)
    "GFP14": ("D.R. Grimes, A.G. Fletcher, M. Partridge. Oxygen consumption dynamics in steady-state tumour "
              "models. R. Soc. Open Sci. 1:140080, 2014 (D = 2e-9 m^2/s; hyperbolic (Michaelis-Menten) "
              "constant of a few mmHg, 2.5 mmHg in their calculations; tumour OCR of order 10-20 mmHg/s)."),
    "SHPD04": ("T.W. Secomb, R. Hsu, E.Y.H. Park, M.W. Dewhirst. Green's function methods for analysis of "
               "oxygen delivery to tissue by microvascular networks. Ann. Biomed. Eng. 32:1519, 2004 (tissue "
               "O2 solubility 3.89e-5 mL O2 / (mL mmHg); half-maximal consumption at 1 mmHg)."),
    "LEE90": ("K.L. Leenders et al. Cerebral blood flow, blood volume and oxygen utilization. Normal values "
              "and effect of age. Brain 113:27-47, 1990 (CMRO2 of grey matter about 3.5 mL O2/100 mL/min)."),
    "KBD03": ("J.P. Kirkpatrick, D.M. Brizel, M.W. Dewhirst. A mathematical model of tumor oxygen and glucose "
              "mass transport and metabolism with complex reaction kinetics. Radiat. Res. 159:336, 2003 "
              "(capillary inlet pO2 40 mmHg; volume-average tumour pO2 about 8 mmHg)."),
    "NL07": ("O. Ndubuizu, J.C. LaManna. Brain tissue oxygen concentration measurements. Antioxid. Redox "
             "Signal. 9:1207, 2007 (normal cortical tissue pO2 roughly 20-40 mmHg)."),
    "VKO89": ("P. Vaupel, F. Kallinowski, P. Okunieff. Blood flow, oxygen and nutrient supply, and metabolic "
              "microenvironment of human tumors: a review. Cancer Res. 49:6449, 1989 (median tumour pO2 about "
              "10 mmHg or lower, normal tissues 25-60 mmHg)."),
    "HV01": ("M. Hockel, P. Vaupel. Tumor hypoxia: definitions and current clinical, biologic, and molecular "
             "aspects. J. Natl. Cancer Inst. 93:266, 2001 (radiobiological hypoxia below about 10 mmHg; half of "
             "the maximal radiosensitivity near 3 mmHg; anoxia / necrosis at about 1 mmHg and below)."),
    "HOL99": ("J. Holash et al. Vessel cooption, regression, and growth in tumors mediated by angiopoietins and "
              "VEGF. Science 284:1994-1998, 1999 (tumours first co-opt host vessels; the co-opted vessels in the "
              "tumour then regress, leaving a secondarily avascular, necrotic core while the margin stays "
              "vascularised)."),
    "GT06": ("J.L. Gevertz, S. Torquato. Modeling the effects of vasculature evolution on early brain tumor "
             "growth. J. Theor. Biol. 243:517-531, 2006 (co-option, regression of vessels inside the dense "
             "tumour, and necrosis where the supply fails)."),
    "PAD04": ("T.P. Padera et al. Pathology: cancer cells compress intratumour vessels. Nature 427:695, 2004 "
              "(proliferating cancer cells collapse the vessels in the dense tumour interior)."),
    # radiobiology (oncotwin.defaults.tissue)
    "LQ": ("C.M. van Leeuwen et al. The alfa and beta of tumours: a review of parameters of the linear-quadratic "
           "model, derived from clinical radiotherapy studies. Radiat. Oncol. 13:96, 2018 (alpha/beta = 10 Gy)."),
    "OER": ("B. Titz, R. Jeraj. An imaging-based tumour growth and treatment response model: investigating the "
            "effect of tumour oxygenation on radiation therapy response. Phys. Med. Biol. 53:4471, 2008 "
            "(oxygen enhancement after Alper & Howard-Flanders, m = 3, K = 3 mmHg)."),
    # immune kinetics, checkpoint blockade and the molecular profile (oncotwin.defaults.immune)
    "KU94": ("V.A. Kuznetsov, I.A. Makalkin, M.A. Taylor, A.S. Perelson. Nonlinear dynamics of immunogenic "
             "tumors: parameter estimation and global bifurcation analysis. Bull. Math. Biol. 56:295-321, 1994 "
             "(effector-tumour kinetics, BCL1 lymphoma parameters)."),
    "BU20": ("J.D. Butner et al. Mathematical prediction of clinical outcomes in advanced cancer patients "
             "treated with checkpoint inhibitor immunotherapy. Sci. Adv. 6:eaay6298, 2020 (checkpoint blockade "
             "restores the immune kill of tumour cells)."),
    "ES17": ("J. Elassaiss-Schaap et al. Using model-based learn and confirm to reveal the pharmacokinetics-"
             "pharmacodynamics relationship of pembrolizumab in the KEYNOTE-001 trial. CPT Pharmacometrics Syst. "
             "Pharmacol. 6:21-28, 2017 (Table 2: IC50 of target engagement 0.535 ug/mL)."),
    "HE05": ("M.E. Hegi et al. MGMT gene silencing and benefit from temozolomide in glioblastoma. N. Engl. J. "
             "Med. 352:997-1003, 2005 (methylated: median survival 21.7 vs 15.3 months with temozolomide; "
             "unmethylated: a smaller, non-significant difference)."),
    "ANG10": ("K.K. Ang et al. Human papillomavirus and survival of patients with oropharyngeal cancer. N. Engl. "
              "J. Med. 363:24-35, 2010 (3-year overall survival 82.4 % HPV-positive vs 57.1 % HPV-negative)."),
    "SC17": ("J.G. Scott et al. A genome-based model for adjusting radiotherapy dose (GARD): a retrospective, "
             "cohort-based study. Lancet Oncol. 18:202-211, 2017 (alpha = ln(RSI)/(-n d) - beta d, n = 1, "
             "d = 2 Gy, beta = 0.05 /Gy^2)."),
    "RE16": ("M. Reck et al. Pembrolizumab versus chemotherapy for PD-L1-positive non-small-cell lung cancer. "
             "N. Engl. J. Med. 375:1823-1833, 2016 (KEYNOTE-024, TPS >= 50 %: progression HR 0.50)."),
    "NA93": ("N. Nakamura, R. Sposto, M. Akiyama. Dose survival of G0 lymphocytes irradiated in vitro: a test "
             "for a possible population bias in the cohort of atomic bomb survivors exposed to high doses. Radiat. "
             "Res. 134:316-322, 1993 (mean D10 3.40 Gy of peripheral-blood G0 lymphocytes, colony assay)."),
    "DP09": ("L.G. de Pillis, K.R. Fister, W. Gu, C. Collins, M. Daub, D. Gross, J. Moore, B. Preskill. "
             "Mathematical model creation for cancer chemo-immunotherapy. Comput. Math. Methods Med. 10:165-184, "
             "2009 (chemotherapy kill K (1 - exp(-delta M)) of tumour cells K_T = 0.9 /day and CD8+ T cells "
             "K_L = 0.0486 /day, the same delta; BioModels BIOMD0000000779)."),
    "TU14": ("P.C. Tumeh et al. PD-1 blockade induces responses by inhibiting adaptive immune resistance. "
             "Nature 515:568-571, 2014 (pre-treatment CD8+ density at the invasive margin predicts response)."),
}

CITATION = re.compile(r"\[([A-Z0-9, ]+)\]")


@dataclass(frozen=True)
class Default:
    """One default parameter value and where it comes from.

    Attributes:
        value: a quantity as a case file writes it, number and unit (``"4.13e-8 cm^2/(mmHg*s)"``), or a
            plain number (dimensionless, or in ``unit``).
        source: citation keys of :data:`SOURCES` in brackets (``"[BJ89]"``, ``"[LEE90, SHPD04]"``) and/or
            words (``"modelling choice"``, ``"calibrated"``).
        unit: the unit of a plain number (``"mm^2/s"``); empty for a dimensionless number or a quantity
            given as text.
    """

    value: str | float
    source: str
    unit: str = ""


def values(table: Mapping[str, Mapping[str, Default]]) -> dict[str, dict[str, str | float]]:
    """The plain values of a per-tissue-kind table of defaults.

    Args:
        table: tissue kind -> parameter -> :class:`Default`.

    Returns:
        tissue kind -> parameter -> value, in the same order.
    """
    return {kind: {key: default.value for key, default in entries.items()} for kind, entries in table.items()}


def citation_keys(source: str) -> list[str]:
    """The :data:`SOURCES` keys that a source text cites.

    Args:
        source: a :attr:`Default.source` (``"[LEE90, SHPD04]"``, ``"of the order used in [BJ90]/[JTM07]"``).

    Returns:
        The keys in order of appearance (unknown keys included, so that a test can find them).
    """
    return [key.strip() for group in CITATION.findall(source) for key in group.split(",") if key.strip()]


def walk(table: Any, path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], Default]]:
    """Every :class:`Default` in a (nested) mapping of defaults, with its key path.

    Args:
        table: a :class:`Default` or a mapping whose values are defaults or such mappings.
        path: the keys leading to ``table``.

    Yields:
        ``(key path, default)`` pairs.
    """
    if isinstance(table, Default):
        yield path, table
    elif isinstance(table, Mapping):
        for key, item in table.items():
            yield from walk(item, (*path, str(key)))
