"""Writes zkml/pedersen_generators.bin: the first 32768 Pedersen vector generators, derived by
RFC 9380 hash-to-G1 (zkml/commitments/pedersen.py), as 96-byte affine x || y. Prints the SHA-256 to pin
in pedersen.GENERATOR_FILE_SHA256. The file is only a cache of the derivation: a test
re-derives every point.

    python scripts/make_generators.py
"""
import hashlib
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from zkml.commitments import pedersen
from zkml.arith.curve import get_backend  # noqa: E402

COUNT = 1 << pedersen.WITNESS_COLUMN_VARS   # the widest witness row's generators


def main() -> None:
    be = get_backend()
    data = b"".join(be.to_affine_xy(pedersen.derive_vector_generator(i)) for i in range(COUNT))
    pedersen.GENERATOR_FILE.write_bytes(data)
    print(pedersen.GENERATOR_FILE, len(data), "bytes, sha256", hashlib.sha256(data).hexdigest())


if __name__ == "__main__":
    main()
