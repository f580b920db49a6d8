"""Why an attached document was not read, and the guard every zipped format shares (Word,
Excel, OpenDocument): a zip that unpacks to far more than it weighs is not opened.

Beside intake/mail/attachments.py so that the readers of each format (word_forms.py,
opendocument.py, pdf_forms.py) can raise the same reasons without importing it.
"""
from __future__ import annotations

import io
import zipfile

from intake.mail.document_limits import MAX_UNPACKED

# As the reply gives it: "We could not read your attachment X: <reason>."
DAMAGED = "it could not be opened (it may be damaged or protected)"


class Unreadable(Exception):
    """An attachment we could not read, with the reason to give the sender."""


def check_zip(data: bytes) -> None:
    """Raise Unreadable for a file that is no zip, or one whose parts unpack to more than
    MAX_UNPACKED (the sizes its directory declares: a liar fails to inflate later)."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            if sum(info.file_size for info in archive.infolist()) > MAX_UNPACKED:
                raise Unreadable("it unpacks to far more than its size (it may be hostile)")
    except zipfile.BadZipFile as error:
        raise Unreadable(DAMAGED) from error
