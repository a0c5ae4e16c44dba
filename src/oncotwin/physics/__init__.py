"""Physics as pure UFL: small frozen dataclasses that build forms (no files, no ranks, no solvers)."""
