"""The file formats and their in-memory models: the quantized model (.zkm), the commitment (COMMIT.json), the proof (PROOF.bin), datasets (.npz), safe JSON parsing."""
