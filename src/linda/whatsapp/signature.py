"""X-Hub-Signature-256: HMAC-SHA256 of the raw request body with the app secret."""

import hashlib
import hmac

HEADER = "X-Hub-Signature-256"
_PREFIX = "sha256="


def sign(app_secret: str, body: bytes) -> str:
    """The header value Meta sends with `body`."""
    return _PREFIX + hmac.new(app_secret.encode(), body, hashlib.sha256).hexdigest()


def is_valid(app_secret: str, body: bytes, header_value: str) -> bool:
    """Constant-time check of a header value against the body."""
    return hmac.compare_digest(sign(app_secret, body).encode(), header_value.strip().encode())
