"""Private file storage: never mapped to a URL; files are served by views that check access."""
import os
from pathlib import Path

from django.conf import settings
from django.core.files.storage import FileSystemStorage
from django.utils.deconstruct import deconstructible


@deconstructible
class PrivateStorage(FileSystemStorage):
    """Files under settings.PRIVATE_DIR (read at each access, so tests and deployments can move it)."""

    def __init__(self):
        # Test sets (revealed or not) and calibration sets: 0600 files in 0700 directories, whatever
        # the process umask; the web server user reads them, nobody else on the host.
        super().__init__(base_url=None, file_permissions_mode=0o600, directory_permissions_mode=0o700)

    def _save(self, name, content):
        """Create PRIVATE_DIR and the file's directory 0700 first: os.makedirs gives intermediate
        directories the umask's mode, not directory_permissions_mode."""
        base = Path(self.location)
        directory = base
        for part in ("",) + Path(self.path(name)).parent.relative_to(base).parts:
            directory = directory / part if part else directory
            directory.mkdir(mode=0o700, parents=True, exist_ok=True)
            if directory.stat().st_mode & 0o777 != 0o700:
                directory.chmod(0o700)
        return super()._save(name, content)

    @property
    def base_location(self) -> str:
        return str(settings.PRIVATE_DIR)

    @property
    def location(self) -> str:
        return os.path.abspath(self.base_location)

    def url(self, name):
        return "#private"  # never served directly: see challenges.views.download_test_set


def private_storage() -> FileSystemStorage:
    """The storage of test and calibration sets."""
    return PrivateStorage()
