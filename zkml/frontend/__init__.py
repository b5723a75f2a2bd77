"""ONNX import and post-training quantization (the participant's side; not on the verifier's path)."""
