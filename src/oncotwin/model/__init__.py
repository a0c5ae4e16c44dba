"""The one place that turns a validated case into problems and sub-models (tissues, drugs, tumour)."""
