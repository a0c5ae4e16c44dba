"""Internal-unit values (mm, s, mmHg, mg, Gy) restated in clinical units and plain words."""

from __future__ import annotations

import math
import re
from typing import Any

from oncotwin.pk.schedule import parse_schedule

DAY = 86400.0
KPA_PER_MMHG = 0.133322387415

# physics section -> parameter -> (label, clinical unit, factor from internal units)
REGION_PARAMETERS: dict[str, dict[str, tuple[str, str, float]]] = {
    "growth": {
        "diffusivity": ("cell motility D", "mm^2/day", DAY),
        "proliferation_scale": ("proliferation scale", "-", 1.0),
        "initial_density": ("initial viable density", "of capacity", 1.0),
        "initial_necrotic": ("initial necrotic density", "of capacity", 1.0),
    },
    "mechanics": {
        "young_modulus": ("Young's modulus E", "kPa", KPA_PER_MMHG),
        "poisson_ratio": ("Poisson ratio", "-", 1.0),
    },
    "fluid": {
        "hydraulic_conductivity": ("hydraulic conductivity K", "cm^2/(mmHg s)", 1e-2),
        "vascular_permeability": ("vascular permeability Lp", "cm/(mmHg s)", 1e-1),
        "vessel_surface_density": ("vessel surface density S/V", "1/cm", 10.0),
        "vascular_pressure": ("vascular pressure", "mmHg", 1.0),
        "plasma_oncotic_pressure": ("plasma oncotic pressure", "mmHg", 1.0),
        "interstitial_oncotic_pressure": ("interstitial oncotic pressure", "mmHg", 1.0),
        "reflection_coefficient": ("osmotic reflection coefficient", "-", 1.0),
        "lymphatic_filtration": ("lymphatic filtration", "1/(mmHg s)", 1.0),
        "lymphatic_pressure": ("lymphatic pressure", "mmHg", 1.0),
    },
    "drug": {
        "permeability_scale": ("drug vessel permeability scale", "x tumour", 1.0),
        "diffusivity_scale": ("drug diffusivity scale", "x tumour", 1.0),
    },
    "oxygen": {
        "diffusivity": ("O2 diffusivity", "mm^2/s", 1.0),
        "supply_rate": ("O2 vascular transfer rate", "1/s", 1.0),
        "vascular_po2": ("vascular pO2", "mmHg", 1.0),
        "tissue_consumption": ("host O2 consumption", "mmHg/s", 1.0),
        "half_saturation": ("O2 half-saturation", "mmHg", 1.0),
    },
}

SECTION_TITLES = {"growth": "Growth and invasion", "mechanics": "Mechanics (mass effect)",
                  "fluid": "Interstitial fluid", "drug": "Drug transport", "oxygen": "Oxygen"}

# physics section -> parameter -> (label, unit, factor); drug effects are handled separately
PHYSICS_PARAMETERS: dict[str, dict[str, tuple[str, str, float]]] = {
    "growth": {
        "proliferation_rate": ("proliferation rate (sensitive clone)", "1/day", DAY),
        "resistant_proliferation_rate": ("proliferation rate (resistant clone)", "1/day", DAY),
        "mutation_fraction": ("resistant daughters per division", "-", 1.0),
        "initial_resistant_fraction": ("initial resistant fraction", "-", 1.0),
        "necrosis_rate": ("death rate of anoxic cells", "1/day", DAY),
        "detection_threshold": ("imaging detection threshold", "of capacity", 1.0),
        "carrying_capacity": ("carrying capacity", "cells/mm^3", 1.0),
        "step": ("growth time step", "day", 1.0 / DAY),
    },
    "mechanics": {
        "growth_strain": ("growth eigenstrain at full density", "-", 1.0),
        "stress_coupling": ("stress slowing of invasion", "1/kPa", 1.0 / KPA_PER_MMHG),
    },
    "oxygen": {
        "tumour_consumption": ("tumour O2 consumption at full density", "mmHg/s", 1.0),
        "hypoxic_threshold": ("hypoxia threshold", "mmHg", 1.0),
        "necrotic_threshold": ("anoxia (necrosis) threshold", "mmHg", 1.0),
    },
    "fluid": {"ifp_threshold": ("reported IFP threshold", "mmHg", 1.0)},
}


def fmt(value: Any, digits: int = 3) -> str:
    """A number with ``digits`` significant digits (plain text for anything else, '-' for None/NaN)."""
    if value is None:
        return "–"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, (int, float)):
        if isinstance(value, float) and not math.isfinite(value):
            return "–"
        if value == 0:
            return "0"
        magnitude = abs(value)
        if 1e-3 <= magnitude < 1e6:
            text = f"{value:.{digits}g}"
            return text if "e" not in text else f"{value:,.0f}"
        mantissa, exponent = f"{value:.{digits - 1}e}".split("e")
        return f"{float(mantissa):g}×10{superscript(str(int(exponent)))}"
    return str(value)


SUPERSCRIPT = str.maketrans("0123456789-", "⁰¹²³⁴⁵⁶⁷⁸⁹⁻")


def superscript(digits: str) -> str:
    """Digits (and a minus sign) as Unicode superscripts."""
    return digits.translate(SUPERSCRIPT)


def pretty_units(text: str) -> str:
    """``mm^2/day`` -> ``mm²/day`` (every ``^`` followed by an integer)."""
    return re.sub(r"\^(-?[0-9]+)", lambda m: superscript(m.group(1)), text)


def region_parameter_rows(regions: dict[str, Any]) -> list[tuple[str, str, str, list[str]]]:
    """One row per (section, parameter) present in any region, with values in clinical units.

    Returns:
        ``(section title, parameter label, unit, [value per region])`` in the order of
        :data:`REGION_PARAMETERS`; parameters unknown to it follow with their internal values.
    """
    names = list(regions)
    rows = []
    sections = list(REGION_PARAMETERS) + sorted(
        {s for r in regions.values() if isinstance(r, dict) for s, v in r.items() if isinstance(v, dict)}
        - set(REGION_PARAMETERS))
    for section in sections:
        known = REGION_PARAMETERS.get(section, {})
        keys = list(known) + sorted({k for n in names for k in (regions[n].get(section) or {})} - set(known))
        for key in keys:
            label, unit, factor = known.get(key, (key.replace("_", " "), "internal", 1.0))
            values = [_scaled((regions[n].get(section) or {}).get(key), factor) for n in names]
            if any(v != "" for v in values):
                rows.append((SECTION_TITLES.get(section, section), label, unit, values))
    return rows


def _scaled(value: Any, factor: float) -> str:
    if value is None:
        return ""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return fmt(value * factor)
    return str(value)


def physics_parameter_rows(physics: dict[str, Any]) -> list[tuple[str, str, str]]:
    """Model-wide parameters of the enabled physics: ``(label, value, unit)`` in clinical units."""
    rows = []
    for section, table in PHYSICS_PARAMETERS.items():
        settings = physics.get(section) or {}
        if not settings.get("enabled", False):
            continue
        for key, (label, unit, factor) in table.items():
            if settings.get(key) is not None:
                rows.append((label, _scaled(settings[key], factor), unit))
    growth = physics.get("growth") or {}
    for drug, effect in (growth.get("drug_effect") or {}).items() if growth.get("enabled") else []:
        rows.append((f"{drug}: maximal kill rate", _scaled(effect.get("max_kill_rate"), DAY), "1/day"))
        rows.append((f"{drug}: EC50", _scaled(effect.get("ec50"), 1e6), "mg/L"))
        rows.append((f"{drug}: Hill coefficient", _scaled(effect.get("hill"), 1.0), "-"))
    for bc in (physics.get("fluid") or {}).get("boundary_conditions") or []:
        if bc.get("type") == "pressure" and physics["fluid"].get("enabled"):
            rows.append((f"fluid pressure on boundary '{bc.get('boundary')}'", fmt(bc.get("pressure")), "mmHg"))
    return rows


def radiotherapy_rows(radiotherapy: dict[str, Any] | None) -> list[tuple[str, str, str]]:
    """Radiobiology parameters of a radiotherapy section."""
    if not radiotherapy:
        return []
    rows = [("LQ alpha", fmt(radiotherapy.get("alpha")), "1/Gy"),
            ("LQ alpha/beta", fmt(radiotherapy.get("alpha_beta")), "Gy"),
            ("maximal oxygen enhancement ratio", fmt(radiotherapy.get("oer_max")), "-"),
            ("OER half-effect pO2", fmt(radiotherapy.get("oer_k")), "mmHg")]
    return [r for r in rows if r[1] != "–"]


def patient_rows(patient: dict[str, Any] | None) -> list[tuple[str, str]]:
    """Patient covariates in clinical units (only those given), with the body surface area."""
    patient = patient or {}
    rows = []
    height = patient.get("height")
    weight = patient.get("weight")
    if patient.get("age") is not None:
        rows.append(("Age", f"{patient['age']:g} years"))
    if patient.get("sex"):
        rows.append(("Sex", str(patient["sex"])))
    if height is not None:
        rows.append(("Height", f"{height / 10:.0f} cm"))
    if weight is not None:
        rows.append(("Weight", f"{weight / 1e6:.1f} kg"))
    bsa = body_surface_area(patient)
    if bsa is not None:
        rows.append(("Body surface area", f"{bsa:.2f} m² ({patient.get('bsa_formula', 'mosteller')})"))
    if patient.get("serum_creatinine") is not None:
        rows.append(("Serum creatinine", f"{patient['serum_creatinine'] * 1e5:.2f} mg/dL"))
    if patient.get("creatinine_clearance") is not None:
        rows.append(("Creatinine clearance", f"{patient['creatinine_clearance'] * 0.06:.0f} mL/min"))
    if patient.get("hepatic_factor") not in (None, 1.0):
        rows.append(("Hepatic clearance factor", fmt(patient["hepatic_factor"])))
    return rows


def body_surface_area(patient: dict[str, Any]) -> float | None:
    """Body surface area in m^2 (Mosteller or DuBois), or None without height and weight."""
    height, weight = patient.get("height"), patient.get("weight")
    if height is None or weight is None:
        return None
    height_cm, weight_kg = height / 10.0, weight / 1e6
    if patient.get("bsa_formula") == "dubois":
        return 0.007184 * height_cm**0.725 * weight_kg**0.425
    return math.sqrt(height_cm * weight_kg / 3600.0)


def schedule_count(schedule: str | None) -> int | None:
    """Number of doses or fractions of a compact schedule string (None when unreadable)."""
    if not schedule:
        return None
    try:
        return len(parse_schedule(schedule).times())
    except Exception:  # noqa: BLE001 - a summary is best effort
        return None


def treatment_summary(treatment: dict[str, Any] | None) -> str:
    """Treatment in words, e.g. ``"RT 30 x 2 Gy; temozolomide 75 mg/m^2 oral daily x 42"``."""
    treatment = treatment or {}
    parts = []
    rt = treatment.get("radiotherapy")
    if rt:
        count = schedule_count(rt.get("schedule"))
        dose = rt.get("dose_per_fraction")
        total = f" = {count * dose:g} Gy" if count and dose else ""
        parts.append(f"RT {count if count else '?'} × {fmt(dose)} Gy{total} ({rt.get('schedule', '')})")
    for drug in treatment.get("drugs") or []:
        parts.append(_drug_words(drug))
    aa = treatment.get("antiangiogenic")
    if aa:
        parts.append(f"anti-angiogenic {aa.get('schedule', '')} (vessel permeability × "
                     f"{fmt(aa.get('permeability_scale'))})")
    return "; ".join(p.strip() for p in parts) if parts else "untreated"


def _drug_words(drug: dict[str, Any]) -> str:
    dose = drug.get("dose")
    dose_text = dose[2] if isinstance(dose, (list, tuple)) and len(dose) == 3 else fmt(dose)
    route = drug.get("route") or ""
    duration = drug.get("duration")
    if route == "infusion" and duration:
        route = f"{duration / 3600:g} h infusion"
    schedule = drug.get("schedule")
    if not schedule and drug.get("every"):
        schedule = f"every {drug['every'] / DAY:g} days x {drug.get('count') or 1}"
        if drug.get("start"):
            schedule = f"from day {drug['start'] / DAY + 1:g}, {schedule}"
    return " ".join(str(p) for p in (drug.get("drug", "?"), dose_text, route, schedule or "") if p)


def geometry_words(geometry: dict[str, Any] | None) -> str:
    """A one-line description of the geometry section."""
    geometry = geometry or {}
    kind = geometry.get("kind")
    if kind == "sphere":
        host = geometry.get("host_radius")
        text = f"idealised sphere: tumour radius {fmt(geometry.get('tumour_radius'))} mm"
        if geometry.get("necrotic_radius"):
            text += f", necrotic core {fmt(geometry['necrotic_radius'])} mm"
        return text + (f", host tissue to {fmt(host)} mm" if host else ", tissue-isolated")
    if kind == "mni152":
        tumour = geometry.get("tumour") or {}
        centre = ", ".join(fmt(c) for c in tumour.get("centre") or [])
        return (f"MNI152 adult brain atlas (nilearn, {geometry.get('resolution', '?')} mm) with a synthetic "
                f"tumour at ({centre}) mm, radius {fmt(tumour.get('radius'))} mm, necrotic core "
                f"{fmt(tumour.get('necrotic_radius'))} mm, edema to {fmt(tumour.get('edema_radius'))} mm")
    if kind == "segmentation":
        preset = geometry.get("label_preset")
        labels = f"label preset {preset}" if preset else f"labels {geometry.get('regions')}"
        return f"patient segmentation ({labels}; host tissue '{geometry.get('host_region', 'host')}')"
    return str(kind or "unknown")
