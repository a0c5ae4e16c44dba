"""Cross-cutting helpers every layer may import: errors, logging, MPI, the FEniCSx import point, units.

Nothing here imports another oncotwin package.
"""
