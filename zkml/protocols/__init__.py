"""The interactive protocols and their plumbing: transcript and channel, sumcheck (prover and verifier), sigma protocols, the LogUp-GKR lookup argument, the shapes of sumcheck polynomials."""
