"""Linear algebra: PETSc solver set-up and convergence checks."""
