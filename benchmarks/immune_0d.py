"""0-D checkpoint-response comparison for a case's profile: PD-1 occupancy and tumour cells over time.

    .venv/bin/python benchmarks/immune_0d.py cases/lung1_001_pembrolizumab.yaml OUT.png [days]

Reads the case (its profile's priors and its checkpoint-inhibitor schedule, continued every 3 weeks for the
horizon), integrates the Kuznetsov 1994 kinetics with and without the antibody from the tumour-free effector
level and 1e8 tumour cells, and draws occupancy and tumour cells for: no treatment, the case's antibody, and
each immune-desert / PD-L1-negative counterfactual of the same profile. Prints the table of final cells.
"""

from __future__ import annotations

import sys
import time

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from oncotwin.case.load import read_case  # noqa: E402
from oncotwin.case.profile import Profile  # noqa: E402
from oncotwin.model.immune import checkpoint_response, immune_kinetics, occupancy_curve  # noqa: E402
from oncotwin.pk.antibodies import antibody  # noqa: E402
from oncotwin.pk.schedule import DAY, DoseEvent  # noqa: E402


def main(case_path: str, out: str, days: float = 365.0) -> None:
    case, _ = read_case(case_path)
    profile = case.treatment.patient.profile or Profile()
    adm = next(a for a in case.treatment.drugs if antibody(a.drug) is not None)
    model = antibody(adm.drug)
    amount = adm.amount_mg(case.treatment.patient)
    period = adm.schedule_spec().period or 21 * DAY
    events = [DoseEvent(k * period, adm.duration or 1800.0, amount, adm.drug, "infusion")
              for k in range(int(days * DAY // period) + 1)]
    occupancy = occupancy_curve(model.for_weight(case.treatment.patient.weight_kg), events)
    scenarios = {"case profile": profile.markers(),
                 "immune desert (CD8 20/mm^2)": {**profile.markers(), "cd8_density": 20.0},
                 "PD-L1 negative (TPS 0 %)": {**profile.markers(), "pdl1_tps": 0.0}}
    fig, (ax_o, ax_t) = plt.subplots(2, 1, figsize=(7, 7), sharex=True)
    grid = np.linspace(0, days * DAY, 2000)
    ax_o.plot(grid / DAY, [occupancy(t) for t in grid], color="k")
    ax_o.set_ylabel(f"PD-1 occupancy ({adm.drug})")
    ax_o.set_ylim(0, 1.02)
    print(f"| scenario | tumour cells at day {days:g}, untreated | with {adm.drug} | ln ratio |")
    print("|---|---|---|---|")
    for (label, markers), colour in zip(scenarios.items(), ("C0", "C1", "C2"), strict=True):
        data = {k: (f"{v} cells/mm^2" if k == "cd8_density" else f"{v} %" if k == "pdl1_tps"
                    else f"{v} mut/Mb" if k == "tmb" else v) for k, v in markers.items()}
        kinetics = immune_kinetics(Profile.model_validate(data).priors()[0])
        e0 = kinetics.recruitment / kinetics.death
        start = time.perf_counter()
        control = checkpoint_response(kinetics, e0, 1e8, days * DAY, 0.0, step=2 * DAY)
        treated = checkpoint_response(kinetics, e0, 1e8, days * DAY, occupancy, step=2 * DAY)
        ax_t.semilogy(control.times / DAY, control.tumour, "--", color=colour, label=f"{label}: untreated")
        ax_t.semilogy(treated.times / DAY, treated.tumour, "-", color=colour, label=f"{label}: {adm.drug}")
        ratio = np.log(control.tumour[-1] / treated.tumour[-1])
        print(f"| {label} | {control.tumour[-1]:.3g} | {treated.tumour[-1]:.3g} | {ratio:.2f} |"
              f"  ({time.perf_counter() - start:.1f} s)")
    ax_t.set_xlabel("day")
    ax_t.set_ylabel("tumour cells (Kuznetsov 1994)")
    ax_t.legend(fontsize=7)
    fig.suptitle(f"{case.name}: 0-D checkpoint response")
    fig.tight_layout()
    fig.savefig(out, dpi=120)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], float(sys.argv[3]) if len(sys.argv) > 3 else 365.0)
