"""Drug library: population plasma-PK parameters and tissue-transport parameters, with sources.

Every entry is written with units, as a literature source reports it (``"62.4 L/h"``, ``"17.7 L"``), and
converted once, by :func:`get_drug`, to the internal units of :mod:`oncotwin.core.units` (mm, s, mg):

========================  ===========  ==========================================================
parameter                 internal     meaning
========================  ===========  ==========================================================
clearance                 mm^3/s       elimination clearance CL from the central compartment
central_volume            mm^3         central volume V1
q2, v2 / q3, v3           mm^3/s, mm^3 inter-compartmental clearance and volume of peripheral 2/3
absorption_rate           1/s          first-order absorption ka (oral route), ``None``: IV only
bioavailability           -            oral bioavailability F
fraction_renal            -            fraction of CL that is renal (covariate model)
diffusivity               mm^2/s       effective diffusivity in tumour interstitium
permeability              mm/s         vascular permeability P (Kedem-Katchalsky diffusive term)
reflection_coefficient    -            solvent-drag reflection coefficient sigma (Kedem-Katchalsky)
unbound_fraction          -            fraction unbound in plasma (only free drug extravasates)
tissue_decay_rate         1/s          lumped degradation / cellular uptake in tissue
emax, ic50, hill          -, mg/mm^3   Emax model hint for a later pharmacodynamic model
========================  ===========  ==========================================================

Plasma PK values are population typical values from the cited studies. Tissue-transport and Emax values
are order-of-magnitude estimates (marked "approximate" per entry): they vary by tumour type by more than an
order of magnitude and are meant to be overridden per case.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from types import MappingProxyType

from oncotwin.core.units import UnitError, registry, to_internal
from oncotwin.pk.compartments import CompartmentModel
from oncotwin.pk.covariates import CRCL_REFERENCE_ML_PER_MIN, SizeScaling

# name -> internal unit ("dimensionless" for pure numbers); the case file may override any of these
PARAMETER_UNITS: Mapping[str, str] = MappingProxyType({
    "clearance": "mm^3/s",
    "central_volume": "mm^3",
    "q2": "mm^3/s",
    "v2": "mm^3",
    "q3": "mm^3/s",
    "v3": "mm^3",
    "absorption_rate": "1/s",
    "bioavailability": "dimensionless",
    "fraction_renal": "dimensionless",
    "diffusivity": "mm^2/s",
    "permeability": "mm/s",
    "reflection_coefficient": "dimensionless",
    "unbound_fraction": "dimensionless",
    "tissue_decay_rate": "1/s",
    "emax": "dimensionless",
    "ic50": "mg/mm^3",
    "hill": "dimensionless",
})
_FRACTIONS = ("bioavailability", "fraction_renal", "reflection_coefficient", "unbound_fraction", "emax")
_EXAMPLES = {
    "clearance": "62 L/h", "central_volume": "18 L", "q2": "50 L/h", "v2": "1800 L", "q3": "28 L/h",
    "v3": "71 L", "absorption_rate": "5.8 1/h", "diffusivity": "3.4e-6 cm^2/s", "permeability": "3e-4 cm/s",
    "tissue_decay_rate": "1e-4 1/s", "ic50": "0.1 umol/L",
}


class UnknownDrugError(ValueError):
    """A drug name that is not in the library (the message lists the known names)."""


@dataclass(frozen=True)
class DrugEntry:
    """One library entry, as published (quantities are strings with units).

    Attributes:
        name: library key (lower case).
        molecular_weight: g/mol, used to convert molar concentrations (IC50) to mass concentrations.
        source: short citation of the plasma PK parameter set.
        reference_crcl_ml_per_min: creatinine clearance of the source's typical patient.
        clearance_size: body-size scaling of clearance in the source model (``None``: the source retained
            no body-size effect on clearance, or none is transcribed; the entry's comment says which).
        penetration: tissue -> (tissue interstitium / plasma AUC ratio, source).
    """

    name: str
    molecular_weight: float
    clearance: str
    central_volume: str
    q2: str | None = None
    v2: str | None = None
    q3: str | None = None
    v3: str | None = None
    absorption_rate: str | None = None
    bioavailability: float = 1.0
    fraction_renal: float = 0.0
    diffusivity: str = "1e-4 mm^2/s"
    permeability: str = "1e-4 mm/s"
    reflection_coefficient: float = 0.1
    unbound_fraction: float = 1.0
    tissue_decay_rate: str = "0 1/s"
    emax: float = 1.0
    ic50: str = "1 umol/L"
    hill: float = 1.0
    source: str = ""
    reference_crcl_ml_per_min: float = CRCL_REFERENCE_ML_PER_MIN
    clearance_size: SizeScaling | None = None
    penetration: Mapping[str, tuple[float, str]] = field(default_factory=dict)


@dataclass(frozen=True)
class DrugParameters:
    """A resolved parameter set in internal units (see the module table).

    ``q2``/``v2`` and ``q3``/``v3`` are ``None`` for models with fewer compartments.
    """

    name: str
    molecular_weight: float
    clearance: float
    central_volume: float
    q2: float | None
    v2: float | None
    q3: float | None
    v3: float | None
    absorption_rate: float | None
    bioavailability: float
    fraction_renal: float
    diffusivity: float
    permeability: float
    reflection_coefficient: float
    unbound_fraction: float
    tissue_decay_rate: float
    emax: float
    ic50: float
    hill: float
    source: str
    reference_crcl_ml_per_min: float = CRCL_REFERENCE_ML_PER_MIN
    clearance_size: SizeScaling | None = None
    penetration: Mapping[str, tuple[float, str]] = field(default_factory=dict)

    @property
    def n_compartments(self) -> int:
        """1, 2 or 3 (central plus the peripheral compartments that are present)."""
        return 1 + (self.q2 is not None) + (self.q3 is not None)

    @property
    def peripheral(self) -> tuple[tuple[float, float], ...]:
        """(Q, V) of each peripheral compartment, in internal units."""
        pairs = ((self.q2, self.v2), (self.q3, self.v3))
        return tuple((q, v) for q, v in pairs if q is not None)

    def compartment_model(self) -> CompartmentModel:
        """The structural plasma-PK model of this parameter set."""
        return CompartmentModel(self.clearance, self.central_volume, self.peripheral, self.absorption_rate,
                                self.bioavailability)

    def with_clearance(self, clearance: float) -> DrugParameters:
        """A copy with another elimination clearance (mm^3/s), e.g. after the covariate model."""
        return replace(self, clearance=clearance)


# Plasma PK: population typical values of adult patients. Volumes and clearances refer to the
# concentration the study measured (total drug unless stated); ``unbound_fraction`` converts it to free drug.
LIBRARY: Mapping[str, DrugEntry] = MappingProxyType({
    # Plasma PK: Perez-Blanco JS et al., Br J Clin Pharmacol 2016;82:1517 (adult NHL, R-CHOP, 3-compartment;
    #   V1-V3 fixed to the adult reference values of Kontny NE et al., Cancer Chemother Pharmacol 2013).
    # Renal fraction ~0.1: <10% excreted unchanged in urine (doxorubicin label), approximate.
    # Body size: weight and BSA were screened and not retained in the final model (Perez-Blanco 2016): none.
    # Transport (approximate): D = 3.4e-6 cm^2/s and P = 3e-4 cm/s as used by Zhan W & Xu XY (PLoS One
    #   2013, after Eikenberry S, Theor Biol Med Model 2009); sigma 0.15 (small molecule, Zhan & Xu);
    #   protein binding ~75% (label) -> fu 0.25; uptake rate and IC50 ~0.1 uM (cell-line range 0.01-1 uM)
    #   are order-of-magnitude values.
    "doxorubicin": DrugEntry(
        name="doxorubicin", molecular_weight=543.52,
        clearance="62.4 L/h", central_volume="17.7 L", q2="50.7 L/h", v2="1830 L", q3="28.4 L/h", v3="71 L",
        fraction_renal=0.1,
        diffusivity="3.4e-6 cm^2/s", permeability="3e-4 cm/s", reflection_coefficient=0.15,
        unbound_fraction=0.25, tissue_decay_rate="1e-4 1/s", emax=1.0, ic50="0.1 umol/L",
        source="Perez-Blanco et al., Br J Clin Pharmacol 2016 (V1-V3: Kontny et al., Cancer Chemother Pharmacol 2013)",
    ),
    # Plasma PK of unbound (ultrafilterable) platinum: Urien S & Lokiec F, Br J Clin Pharmacol
    #   2004;57:756 (2-compartment, typical patient BSA 1.62 m^2, CrCl 81 mL/min). The model describes free
    #   drug, hence fu = 1; the irreversible binding to plasma proteins is part of its clearance.
    # Renal fraction ~0.5: renal 149 of 285 mL/min total clearance of ultrafilterable platinum (Kern W et
    #   al., Anticancer Res 2000), approximate.
    # Transport (approximate): small hydrophilic molecule (300 Da): D ~5e-6 cm^2/s in tumour interstitium,
    #   P ~3e-4 cm/s, sigma 0.1; tissue decay = aquation / binding to tissue proteins (t1/2 ~2 h);
    #   IC50 ~5 uM (typical cell-line range 1-20 uM).
    "cisplatin": DrugEntry(
        name="cisplatin", molecular_weight=300.05,
        clearance="35.5 L/h", central_volume="23.4 L", q2="8.64 L/h", v2="12.0 L",
        fraction_renal=0.5,
        diffusivity="5e-6 cm^2/s", permeability="3e-4 cm/s", reflection_coefficient=0.1,
        unbound_fraction=1.0, tissue_decay_rate="1e-4 1/s", emax=1.0, ic50="5 umol/L",
        source="Urien & Lokiec, Br J Clin Pharmacol 2004 (unbound platinum)",
        reference_crcl_ml_per_min=81.0,
        # CL = 35.5 L/h (BSA / 1.62 m^2)^0.83 (CrCl / 81)^0.36 (Urien & Lokiec 2004, Table 4; the renal part
        # stays the linear fraction_renal model here). V1's BSA^1.60 of the same table is not applied.
        clearance_size=SizeScaling("bsa", 1.62, 0.83, "Urien & Lokiec, Br J Clin Pharmacol 2004;57:756, Table 4"),
    ),
    # Plasma PK: Ostermann S et al., Clin Cancer Res 2004;10:3728 (glioma patients, oral: CL/F 10 L/h,
    #   V/F 30.3 L, ka 5.8 1/h; the CSF compartment of that model is omitted). Oral bioavailability ~1
    #   (Temodar label: IV and oral AUC equivalent), so the apparent values are used as CL and V.
    # Renal fraction ~0.06: 5-10% excreted unchanged in urine (label), approximate.
    # Body size: BSA influenced CL and V in Ostermann 2004 (abstract), but the covariate equation is not
    #   transcribed (table not accessible to us), so clearance is not scaled: a known gap.
    # Tissue decay: spontaneous hydrolysis to MTIC at pH 7.4, t1/2 ~1.8 h (Denny BJ et al., Biochemistry
    #   1994) -> 1.07e-4 1/s. Protein binding ~15% (label) -> fu 0.85. D, P, sigma approximate (194 Da,
    #   lipophilic, crosses the blood-brain barrier). IC50 ~100 uM in MGMT-negative glioma lines
    #   (range 10-1000 uM), approximate.
    "temozolomide": DrugEntry(
        name="temozolomide", molecular_weight=194.15,
        clearance="10 L/h", central_volume="30.3 L", absorption_rate="5.8 1/h", bioavailability=1.0,
        fraction_renal=0.06,
        diffusivity="6e-6 cm^2/s", permeability="3e-4 cm/s", reflection_coefficient=0.1,
        unbound_fraction=0.85, tissue_decay_rate="1.07e-4 1/s", emax=1.0, ic50="100 umol/L",
        source="Ostermann et al., Clin Cancer Res 2004",
        # brain interstitium / plasma AUC ratio by microdialysis in peritumoral brain (Portnow J et al.,
        # Clin Cancer Res 2009;15:7092): the blood-brain barrier lets ~18 % of the plasma exposure through.
        penetration=MappingProxyType({"brain": (0.18, "Portnow et al., Clin Cancer Res 2009;15:7092")}),
    ),
    # Plasma PK: Yamada A et al., Cancer Chemother Pharmacol 2025;95:89 (mFOLFOX6, 1-compartment linear:
    #   CL 179 L/h, V 65.6 L, t1/2 0.25 h). 5-FU elimination is saturable (Michaelis-Menten, e.g. Bressolle F
    #   et al.); the linear model is an approximation valid near the clinical infusion rates.
    # Renal fraction ~0.1: <10% excreted unchanged (Diasio RB & Harris BE, Clin Pharmacokinet 1989).
    # Body size: the covariate model of Yamada 2025 is not transcribed; clearance is not scaled.
    # Transport (approximate): 130 Da: D ~1e-5 cm^2/s in interstitium, P ~3e-4 cm/s, sigma 0.05; protein
    #   binding ~10% -> fu 0.9; tissue decay = DPD catabolism/anabolism, approximate; IC50 ~5 uM, approximate.
    "5-fluorouracil": DrugEntry(
        name="5-fluorouracil", molecular_weight=130.08,
        clearance="179 L/h", central_volume="65.6 L",
        fraction_renal=0.1,
        diffusivity="1e-5 cm^2/s", permeability="3e-4 cm/s", reflection_coefficient=0.05,
        unbound_fraction=0.9, tissue_decay_rate="2e-4 1/s", emax=1.0, ic50="5 umol/L",
        source="Yamada et al., Cancer Chemother Pharmacol 2025",
    ),
    # Plasma PK: Sun Y et al., Clin Transl Sci 2025;18:e70404 (weekly 80 mg/m^2 1-h infusions,
    #   2-compartment linear: CL 26.04 L/h, V1 34.08 L, Q 4.2 L/h, V2 67.67 L). Paclitaxel in Cremophor EL is
    #   non-linear at 175 mg/m^2 over 3 h (Henningsson A et al., J Clin Oncol 2001); this is a linear
    #   approximation.
    # Renal fraction ~0.05 (<10% unchanged in urine, label). Protein binding 89-98% (label) -> fu 0.05.
    # Body size: no covariate was retained in the final model (Sun 2025, Table 2; BSA only sets the dose).
    # Transport (approximate): 854 Da, lipophilic, binds tubulin: D ~1.5e-6 cm^2/s, P ~1e-4 cm/s, sigma 0.2;
    #   uptake/binding 5e-5 1/s; IC50 ~5 nM, approximate.
    "paclitaxel": DrugEntry(
        name="paclitaxel", molecular_weight=853.9,
        clearance="26.04 L/h", central_volume="34.08 L", q2="4.2 L/h", v2="67.67 L",
        fraction_renal=0.05,
        diffusivity="1.5e-6 cm^2/s", permeability="1e-4 cm/s", reflection_coefficient=0.2,
        unbound_fraction=0.05, tissue_decay_rate="5e-5 1/s", emax=1.0, ic50="0.005 umol/L",
        source="Sun et al., Clin Transl Sci 2025",
    ),
    # Plasma PK: Onoue H et al., Eur J Clin Pharmacol 2016;72:703, Table 2 (docetaxel 1-h infusions,
    #   2-compartment linear: CL 32.6 L/h, Q 5.34 L/h, V1 5.77 L, V2 11.0 L; the values used with the Friberg
    #   2002 myelosuppression model by Norris DC, DTAT R package / F1000Research 2017;6:112).
    # Renal fraction ~0.06: ~6% of a dose in urine (label), approximate. Protein binding ~94% (label) -> fu 0.06.
    # Body size: Onoue 2016 reports an effect of age on CL (title); no body-size effect is transcribed.
    # Transport (approximate): 808 Da, lipophilic taxane like paclitaxel: D ~1.5e-6 cm^2/s, P ~1e-4 cm/s,
    #   sigma 0.2; uptake/binding 5e-5 1/s; IC50 ~5 nM, approximate.
    "docetaxel": DrugEntry(
        name="docetaxel", molecular_weight=807.88,
        clearance="32.6 L/h", central_volume="5.77 L", q2="5.34 L/h", v2="11.0 L",
        fraction_renal=0.06,
        diffusivity="1.5e-6 cm^2/s", permeability="1e-4 cm/s", reflection_coefficient=0.2,
        unbound_fraction=0.06, tissue_decay_rate="5e-5 1/s", emax=1.0, ic50="0.005 umol/L",
        source="Onoue et al., Eur J Clin Pharmacol 2016 (Table 2)",
    ),
    # Plasma PK: Bruno R et al., Cancer Chemother Pharmacol 2005;56:361 (HER2+ metastatic breast cancer,
    #   2-compartment linear, typical 70 kg patient: CL 0.225 L/day, V1 2.95 L, K12 0.164 1/day,
    #   K21 0.101 1/day -> Q 0.484 L/day, V2 4.79 L).
    # Renal fraction 0: IgG is cleared by proteolytic catabolism (label: no renal dose adjustment).
    # Body size: weight scales V1 only ((W / 70 kg)^0.556), not CL, in the final model of Bruno 2005.
    # Transport (approximate): IgG (~148 kDa): D ~1.3e-7 cm^2/s in tumours (Pluen A et al., PNAS 2001),
    #   P ~3e-7 cm/s (Yuan F et al., Cancer Res 1995), sigma ~0.9; no plasma protein binding (fu 1);
    #   tissue decay = HER2-mediated internalisation, ~1e-5 1/s, approximate; IC50 ~1 ug/mL (~7 nM) with a
    #   partial Emax ~0.5 (SK-BR-3 growth inhibition), approximate.
    "trastuzumab": DrugEntry(
        name="trastuzumab", molecular_weight=148000.0,
        clearance="0.225 L/day", central_volume="2.95 L", q2="0.484 L/day", v2="4.79 L",
        fraction_renal=0.0,
        diffusivity="1.3e-7 cm^2/s", permeability="3e-7 cm/s", reflection_coefficient=0.9,
        unbound_fraction=1.0, tissue_decay_rate="1e-5 1/s", emax=0.5, ic50="0.007 umol/L",
        source="Bruno et al., Cancer Chemother Pharmacol 2005",
    ),
    # Anti-PD-1 IgG4 antibodies: plasma PK of the typical patient of the source (baseline clearance; the
    #   weight allometry, time-varying clearance and PD-1 occupancy are in oncotwin.pk.antibodies).
    #   Pembrolizumab: Ahamadi M et al., CPT Pharmacometrics Syst Pharmacol 2017;6:49, Table 3 (149 kDa,
    #   label). Nivolumab: Zhang J et al., J Clin Pharmacol 2019;59:1415, Table S7 (the Bajaj 2017 model
    #   re-estimated; 146 kDa, label).
    # Renal fraction 0 (IgG catabolism). Transport as trastuzumab (IgG, approximate); the kill is immune
    #   mediated (oncotwin.kinetics.immune), so the direct Emax is 0.
    "pembrolizumab": DrugEntry(
        name="pembrolizumab", molecular_weight=149000.0,
        clearance="0.22 L/day", central_volume="3.48 L", q2="0.795 L/day", v2="4.06 L",
        diffusivity="1.3e-7 cm^2/s", permeability="3e-7 cm/s", reflection_coefficient=0.9,
        unbound_fraction=1.0, tissue_decay_rate="1e-5 1/s", emax=0.0, ic50="0.535 mg/L",
        source="Ahamadi et al., CPT Pharmacometrics Syst Pharmacol 2017;6:49 (Table 3)",
    ),
    "nivolumab": DrugEntry(
        name="nivolumab", molecular_weight=146000.0,
        clearance="11.6 mL/h", central_volume="4.19 L", q2="29.3 mL/h", v2="2.64 L",
        diffusivity="1.3e-7 cm^2/s", permeability="3e-7 cm/s", reflection_coefficient=0.9,
        unbound_fraction=1.0, tissue_decay_rate="1e-5 1/s", emax=0.0, ic50="0.447 mg/L",
        source="Zhang et al., J Clin Pharmacol 2019;59:1415 (Table S7, baseline clearance)",
    ),
})


def penetration(drug: DrugParameters, tissue: str) -> tuple[float, str] | None:
    """(tissue/plasma exposure ratio, source) of ``drug`` in ``tissue`` (e.g. ``"brain"``), ``None`` if unknown."""
    return drug.penetration.get(str(tissue).strip().lower())


def barrier_kpuu(drug: DrugParameters, tissue: str | None) -> float:
    """Kp,uu of ``drug`` behind the barrier of ``tissue``: unbound tissue / unbound plasma at steady state.

    The library's penetration ratios are tissue interstitium / total plasma AUC, as microdialysis measures
    them (Portnow 2009 for temozolomide in brain: 2.7 / 17.1 ug h/mL = 0.178), so
    ``Kp,uu = ratio / unbound_fraction``, at most 1 (a barrier does not concentrate the drug). 1 for a tissue
    without a ratio (no barrier: the default, and every non-brain tissue).
    """
    known = penetration(drug, tissue) if tissue else None
    if known is None:
        return 1.0
    return min(1.0, known[0] / drug.unbound_fraction) if drug.unbound_fraction > 0 else 1.0


def known_drugs() -> list[str]:
    """Names in the library, sorted."""
    return sorted(LIBRARY)


def lookup(name: str) -> DrugEntry:
    """The library entry of ``name`` (case-insensitive).

    Raises:
        UnknownDrugError: the name is not in the library (the message lists the known names).
    """
    key = str(name).strip().lower()
    if key not in LIBRARY:
        raise UnknownDrugError(f"unknown drug {name!r}; known drugs: {', '.join(known_drugs())}")
    return LIBRARY[key]


def get_drug(name: str, overrides: Mapping[str, object] | None = None) -> DrugParameters:
    """Resolve a library entry, with optional overrides, to internal units.

    Args:
        name: a library name (see :func:`known_drugs`).
        overrides: parameter name -> value; dimensional values are strings with units
            (``{"clearance": "40 L/h", "ic50": "0.5 umol/L"}``), fractions are numbers. ``q2``/``v2``
            (and ``q3``/``v3``) must be given together when the entry has no such compartment.

    Raises:
        UnknownDrugError: unknown drug name.
        ValueError: unknown parameter name, wrong unit or value out of range (one-line message naming
            the parameter).
    """
    entry = lookup(name)
    raw = {f.name: getattr(entry, f.name) for f in fields(entry) if f.name in PARAMETER_UNITS}
    for key, value in (overrides or {}).items():
        _require_known(key)
        raw[key] = value
    values = {key: parameter_value(key, value, entry.molecular_weight) for key, value in raw.items()}
    _check_compartments(values)
    return DrugParameters(name=entry.name, molecular_weight=entry.molecular_weight, source=entry.source,
                          reference_crcl_ml_per_min=entry.reference_crcl_ml_per_min,
                          clearance_size=entry.clearance_size, penetration=entry.penetration, **values)


def with_overrides(drug: DrugParameters, overrides: Mapping[str, float | None]) -> DrugParameters:
    """A copy of ``drug`` with some parameters replaced by values already in internal units.

    Args:
        drug: a resolved parameter set (:func:`get_drug`).
        overrides: parameter name -> value in the internal unit of :data:`PARAMETER_UNITS` (checked by
            :func:`parameter_value`); ``None`` removes an optional value (a peripheral compartment, ka).

    Raises:
        ValueError: unknown parameter name, or a peripheral compartment given by half.
    """
    for key in overrides:
        _require_known(key)
    _check_compartments({**{key: getattr(drug, key) for key in PARAMETER_UNITS}, **overrides})
    return replace(drug, **overrides)


def _require_known(key: str) -> None:
    if key not in PARAMETER_UNITS:
        raise ValueError(f"unknown drug parameter {key!r}; allowed: {', '.join(PARAMETER_UNITS)}")


def _check_compartments(values: Mapping[str, float | None]) -> None:
    for q, v in (("q2", "v2"), ("q3", "v3")):
        if (values[q] is None) != (values[v] is None):
            raise ValueError(f"{q} and {v} must be given together (peripheral compartment {q[1]})")
    if values["q3"] is not None and values["q2"] is None:
        raise ValueError("a third compartment (q3, v3) needs a second one (q2, v2)")


def parameter_value(key: str, value: object, molecular_weight: float | None = None) -> float | None:
    """One drug parameter as written (a quantity with units, or a number) in its internal unit.

    Args:
        key: a name of :data:`PARAMETER_UNITS`.
        value: the value as written; ``None`` stays ``None``.
        molecular_weight: g/mol, to read a molar ``ic50``; without it only a mass concentration is read.

    Raises:
        ValueError: wrong unit or value out of range (one-line message naming the parameter).
    """
    if value is None:
        return None
    unit = PARAMETER_UNITS[key]
    try:
        if key == "ic50" and molecular_weight is not None:
            number = concentration_to_internal(value, molecular_weight)
        else:
            number = to_internal(value, unit, example=_EXAMPLES.get(key))
    except UnitError as exc:
        raise ValueError(f"drug parameter {key!r} {exc}") from None
    if key in _FRACTIONS and not 0.0 <= number <= 1.0:
        raise ValueError(f"drug parameter {key!r} must be between 0 and 1, got {number:g}")
    if key in ("clearance", "central_volume", "q2", "v2", "q3", "v3", "absorption_rate", "ic50", "hill",
               "diffusivity") and not number > 0:
        raise ValueError(f"drug parameter {key!r} must be > 0, got {number:g}")
    if number < 0:
        raise ValueError(f"drug parameter {key!r} must be >= 0, got {number:g}")
    return number


def concentration_to_internal(value: object, molecular_weight: float) -> float:
    """A mass (``"0.05 mg/L"``) or molar (``"0.1 umol/L"``) concentration, in mg/mm^3.

    Raises:
        UnitError: neither a mass nor a molar concentration.
    """
    try:
        return to_internal(value, "mg/mm^3", example="0.1 umol/L")
    except UnitError:
        pass
    molar = to_internal(value, "mol/L", example="0.1 umol/L")  # raises with the molar hint
    grams_per_litre = molar * molecular_weight
    return float(registry().Quantity(grams_per_litre, "g/L").to("mg/mm^3").magnitude)


def library_table() -> list[dict[str, object]]:
    """One row per drug (name, compartments, CL in L/h, V1 in L, fu, body-size scaling of CL, source), for
    reports and docs."""
    rows = []
    for name in known_drugs():
        drug = get_drug(name)
        rows.append({
            "drug": name,
            "compartments": drug.n_compartments,
            "CL_L_per_h": drug.clearance * 3600 / 1e6,
            "V1_L": drug.central_volume / 1e6,
            "t_half_terminal_h": _terminal_half_life_h(drug),
            "unbound_fraction": drug.unbound_fraction,
            "fraction_renal": drug.fraction_renal,
            "clearance_body_size": _size_text(drug.clearance_size),
            "source": drug.source,
        })
    return rows


def _size_text(scaling: SizeScaling | None) -> str:
    if scaling is None:
        return "none"
    unit = "m^2" if scaling.covariate == "bsa" else "kg"
    return f"({scaling.covariate} / {scaling.reference:g} {unit})^{scaling.exponent:g} ({scaling.source})"


def _terminal_half_life_h(drug: DrugParameters) -> float:
    rates = drug.compartment_model().rates
    return math.log(2) / float(min(rates)) / 3600
