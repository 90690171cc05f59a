"""A message's state only moves forward, whatever order Meta's status webhooks arrive in.

queued < accepted < sent < delivered < read < played. `failed` is terminal for delivery, but a later
delivered/read/played proves the message was delivered after all; a `failed` after delivery is ignored.
"""

from __future__ import annotations

RANK = {"queued": 0, "accepted": 1, "sent": 2, "delivered": 3, "read": 4, "played": 5}
PROVES_DELIVERY = frozenset({"delivered", "read", "played"})
FINAL = frozenset({"read", "played", "failed"})  # nothing later is expected


def advance(current: str, status: str) -> str:
    """The state after applying `status` to a message in state `current`."""
    if status == "failed":
        return current if current in PROVES_DELIVERY else "failed"
    if status not in RANK:
        return current  # an unknown status is kept as an event, never as a state
    if current == "failed":
        return status if status in PROVES_DELIVERY else current
    return status if RANK[status] > RANK.get(current, -1) else current
