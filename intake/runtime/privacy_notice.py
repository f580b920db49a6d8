"""The privacy notice every acknowledgement links to (CIB_PRIVACY_NOTICE_URL), as `cib check`
sees it: its absence is a warning (the acknowledgements then say how the data is used, but
link to nothing). A value that is not a web address is refused as the settings load."""
from __future__ import annotations

from intake.runtime.settings import Settings


def privacy_notice(settings: Settings) -> tuple[bool, str, bool]:
    """(ok, detail, warning), the fields of a `cib check` finding."""
    if settings.privacy_notice_url:
        return True, f"{settings.privacy_notice_url}: linked from every acknowledgement", False
    return True, ("CIB_PRIVACY_NOTICE_URL is not set, so acknowledgements say how the data is used but link to "
                  "no privacy notice: set it to the CIB's privacy notice"), True
