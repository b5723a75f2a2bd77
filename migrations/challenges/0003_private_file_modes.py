"""Test and calibration sets written before the private storage fixed their modes were 0644 in
0755 directories: make every file under PRIVATE_DIR 0600 and every directory 0700."""
import os

from django.conf import settings
from django.db import migrations


def restrict_private_dir(apps, schema_editor) -> None:
    root = str(settings.PRIVATE_DIR)
    if not os.path.isdir(root):
        return
    os.chmod(root, 0o700)
    for directory, subdirs, files in os.walk(root):
        for name in subdirs:
            os.chmod(os.path.join(directory, name), 0o700)
        for name in files:
            path = os.path.join(directory, name)
            if not os.path.islink(path):
                os.chmod(path, 0o600)


class Migration(migrations.Migration):

    dependencies = [
        ("challenges", "0002_challenge_board_version"),
    ]

    operations = [
        migrations.RunPython(restrict_private_dir, migrations.RunPython.noop),
    ]
