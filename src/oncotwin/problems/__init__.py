"""Problems own function spaces, coefficients and solvers; physics forms come from :mod:`oncotwin.physics`."""
