"""Put <repo>/platform and <repo> on sys.path without making `platform` a package."""
import os
import sys
from pathlib import Path

REPO_DIR = Path(__file__).resolve().parents[2]
PLATFORM_DIR = REPO_DIR / "platform"


def setup(settings_module: str = "proofboard.settings") -> None:
    """Make the Django apps, zkml and prover_worker importable and pick the settings."""
    for entry in (str(REPO_DIR), str(PLATFORM_DIR)):
        if entry not in sys.path:
            sys.path.insert(0, entry)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", settings_module)
