"""Closed-form solutions used to verify the solvers (shipped so users can rerun the verification)."""
