"""Literature default parameters (data with units and sources); read by the case schema."""
