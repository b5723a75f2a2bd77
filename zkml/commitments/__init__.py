"""Pedersen commitments (generators, Hyrax row layout), Hyrax evaluation proofs and the inner-product argument."""
