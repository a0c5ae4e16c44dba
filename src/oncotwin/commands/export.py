"""``oncotwin export``: a field of a run at one output time as NIfTI on an input image's grid."""

from __future__ import annotations

import argparse

from mpi4py import MPI

from oncotwin.core.errors import InputDataError
from oncotwin.core.log import get_logger
from oncotwin.core.parallel import on_root
from oncotwin.core.rundir import new_file
from oncotwin.imaging.images import read_image
from oncotwin.io.export import check_covers, export_volume, read_output, write_nifti

log = get_logger("export")


def main(comm: MPI.Comm, args: argparse.Namespace) -> int:
    """Export on rank 0 into ``--out``; returns the exit status."""
    def run():
        out = str(args.out)
        if not out.endswith((".nii", ".nii.gz")):
            raise InputDataError(f"{out}: --out: got {args.out.name!r}; a NIfTI file name ending in .nii.gz or .nii")
        blocks, t = read_output(args.run_dir, args.field, args.time)
        image = read_image(args.like, "--like")
        check_covers(blocks, image)
        values = export_volume(blocks, args.field, image)
        with new_file(args.out, args.force) as tmp:
            write_nifti(tmp, values, image, out)
        log.info("wrote %s: %s at t = %g s (day %.4g) on the %s grid of %s", args.out, args.field, t, t / 86400.0,
                 "x".join(str(n) for n in image.shape), args.like)

    on_root(comm, run)
    return 0
