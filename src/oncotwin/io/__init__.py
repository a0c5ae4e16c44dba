"""Output: field time series, metrics tables, figures. Writers share the protocol ``write(t)``/``close()``."""
