"""Training of the 40 filter networks (PyTorch, the optional `train` extra)."""
