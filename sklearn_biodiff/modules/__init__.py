"""Neural-network building blocks (``torch.nn`` only, no scikit-learn)."""
