"""Every file recall writes goes through here (letters, print file, SMS lists, worksheets,
backups, logs): atomic, private, and never over a database, a link or someone else's file.

No database and no project imports above this layer: services say which file is the database
(`Protected.database`) and who owns what they write.
"""

from recall.outputs.errors import OutputError, OutputRefused
from recall.outputs.guard import Protected
from recall.outputs.manifest import MANIFEST
from recall.outputs.writer import (
    FILE_MODE,
    FOLDER_MODE,
    OutputSet,
    open_append,
    private_folder,
    write_file,
)

__all__ = [
    "FILE_MODE",
    "FOLDER_MODE",
    "MANIFEST",
    "OutputError",
    "OutputRefused",
    "OutputSet",
    "Protected",
    "open_append",
    "private_folder",
    "write_file",
]
