"""Pointwise (NumPy) cell kinetics: clone growth, LQ radiotherapy survival, Emax drug kill."""
