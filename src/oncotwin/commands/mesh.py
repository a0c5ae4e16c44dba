"""``oncotwin mesh``: mesh a case into the mesh cache and print the mesh quality."""

from __future__ import annotations

import argparse
import json

from mpi4py import MPI

from oncotwin.case import load_case
from oncotwin.core.log import get_logger
from oncotwin.mesh.cache import ensure_mesh


def main(comm: MPI.Comm, args: argparse.Namespace) -> int:
    """Mesh (or reuse the cached mesh) and print its quality (rank 0); returns the exit status."""
    log = get_logger("mesh")
    case, _ = load_case(comm, args.case)
    folder, reused = ensure_mesh(comm, case, args.mesh_dir, force=args.force, progress=log.info)
    if comm.rank == 0:
        quality = json.loads((folder / "quality.json").read_text())
        state = "up to date (cached)" if reused else "written"
        print(f"mesh {state}: {folder}")
        print(f"  {quality['cells']} tetrahedra, {quality['nodes']} nodes; radius ratio min "
              f"{quality['min_radius_ratio']:.3f} mean {quality['mean_radius_ratio']:.3f}; dihedral angles "
              f"{quality['min_dihedral_deg']:.1f}-{quality['max_dihedral_deg']:.1f} deg; inverted {quality['inverted']}")
        for name, region in quality["regions"].items():
            print(f"  region {name:>14s} (tag {region['tag']}): {region['cells']:>8d} cells, "
                  f"{region['volume_mm3']:.1f} mm^3")
    return 0
