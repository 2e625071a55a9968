"""Inference: onnxruntime sessions and batching, image decode/encode with limits, colourise,
filters, and the small trained models the package ships (under `inference/models/`)."""
