"""Clinical outcome models: pure NumPy/SciPy, above pk (toxicity, survival, radiotherapy, resistance)."""
