"""One report page per folder kind: run, comparison, calibration and forecast."""
