"""Patient calibration from longitudinal imaging, and forecasts with uncertainty.

Pipeline (mirrors the numerical method): ``parameters`` maps calibrated values onto a case,
``observations`` reads follow-up segmentations, ``forward`` runs the model to the observation times in
memory, ``misfit`` turns simulated and observed tumours into weighted residuals, ``optimise`` fits the
log-parameters (Levenberg-Marquardt with a finite-difference Jacobian, Laplace posterior), ``calibrate``
writes the result and ``forecast`` samples the posterior over MPI groups.
"""
