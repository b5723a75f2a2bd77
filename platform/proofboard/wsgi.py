"""WSGI entry point."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from proofboard import pathsetup  # noqa: E402

pathsetup.setup()

from django.core.wsgi import get_wsgi_application  # noqa: E402

application = get_wsgi_application()
