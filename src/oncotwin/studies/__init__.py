"""Many runs of one patient: regimen comparison over MPI groups."""
