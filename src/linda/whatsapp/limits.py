"""Meta's published limits, in one place for Linda's validation and the emulator's enforcement."""

from typing import Final

TEXT_BODY_MAX: Final = 4096
CAPTION_MAX: Final = 1024
BIZ_OPAQUE_CALLBACK_DATA_MAX_BYTES: Final = 512

INTERACTIVE_BODY_MAX: Final = 1024
INTERACTIVE_HEADER_TEXT_MAX: Final = 60
INTERACTIVE_FOOTER_MAX: Final = 60
REPLY_BUTTONS_MIN: Final = 1
REPLY_BUTTONS_MAX: Final = 3
REPLY_BUTTON_ID_MAX: Final = 256
REPLY_BUTTON_TITLE_MAX: Final = 20

LIST_BUTTON_LABEL_MAX: Final = 20
LIST_SECTIONS_MAX: Final = 10
LIST_SECTION_TITLE_MAX: Final = 24
LIST_ROWS_MAX: Final = 10
LIST_ROW_ID_MAX: Final = 200
LIST_ROW_TITLE_MAX: Final = 24
LIST_ROW_DESCRIPTION_MAX: Final = 72

SERVICE_WINDOW_SECONDS: Final = 24 * 3600

DEFAULT_THROUGHPUT_PER_SECOND: Final = 80
# Pair rate: one business number to one user, about one message every 6 s; short bursts borrow from the
# future (Meta allows a burst of up to 45 before the pair is throttled for the time it borrowed).
PAIR_RATE_INTERVAL_SECONDS: Final = 6.0
PAIR_RATE_BURST: Final = 45

# Template button components are addressed by index "0".."9".
TEMPLATE_BUTTON_INDEX_MAX: Final = 9

# Largest upload the Graph API accepts, by the top-level part of the MIME type (any other: documents).
MEDIA_MAX_BYTES: Final = {"image": 5 * 1024 * 1024, "video": 16 * 1024 * 1024, "audio": 16 * 1024 * 1024}
DOCUMENT_MAX_BYTES: Final = 100 * 1024 * 1024
