"""The slice figures of a run folder (``figures/*_slices.png``): reading order and captions."""

from __future__ import annotations

from pathlib import Path

from oncotwin.io.figures import label_of
from oncotwin.report.markup import esc

FIGURE_ORDER = ("tumour_cells", "necrotic_cells", "resistant_cells", "effector_density", "oxygen_mmHg",
                "_auc_mg_h_per_L", "_cmax_mg_per_L", "_mg_per_L", "pressure_mmHg", "velocity_um_per_s",
                "fluid_source_per_s", "displacement_mm", "von_mises_mmHg")


def sort_figures(paths: list[Path]) -> list[Path]:
    """Slice figures in reading order (tumour, oxygen, drugs, fluid, mechanics, the rest)."""
    def rank(path: Path) -> tuple[int, str]:
        stem = path.stem.removesuffix("_slices")
        for i, key in enumerate(FIGURE_ORDER):
            if stem == key or (key.startswith("_") and stem.endswith(key)):
                return i, stem
        return len(FIGURE_ORDER), stem
    return sorted(paths, key=rank)


def figure_caption(path: Path, who: str = "") -> str:
    """Caption of a slice figure, from the field name in its file name."""
    stem = path.stem.removesuffix("_slices")
    prefix = f"{esc(who)}: " if who else ""
    return (f"<b>{prefix}{esc(label_of(stem))}</b> at the last output time: sagittal, coronal and axial "
            "slices through the tumour centroid; white line: tumour boundary.")
