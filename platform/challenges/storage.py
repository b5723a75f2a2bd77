"""Private file storage: never mapped to a URL; files are served by views that check access."""
import os

from django.conf import settings
from django.core.files.storage import FileSystemStorage
from django.utils.deconstruct import deconstructible


@deconstructible
class PrivateStorage(FileSystemStorage):
    """Files under settings.PRIVATE_DIR (read at each access, so tests and deployments can move it)."""

    def __init__(self):
        super().__init__(base_url=None)

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
