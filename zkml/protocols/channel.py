"""The proof as a message stream: every prover message is written to the proof bytes AND
absorbed into the Fiat–Shamir transcript, in one call, so no message can miss the transcript.

The verifier reads the same messages in the same order; a short, malformed or non-canonical
message raises FormatError naming the byte offset and the message label. This module holds
the message sizes both sides use; channel_prover.py writes the stream, channel_verifier.py
reads it.
"""
POINT_BYTES = 48     # a compressed G1 point
SCALAR_BYTES = 32    # a field element, big-endian, canonical (< P)
