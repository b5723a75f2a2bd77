#!/usr/bin/env python
"""Django's command-line utility for Proofboard."""
import sys
from pathlib import Path

# `platform/` is deliberately not a package (it would shadow the stdlib `platform`).
sys.path.insert(0, str(Path(__file__).resolve().parent / "platform"))

from proofboard import pathsetup  # noqa: E402

if __name__ == "__main__":
    pathsetup.setup()
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)
