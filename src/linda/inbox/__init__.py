"""Webhooks in: the receiving endpoint, the durable inbox, and the processor that turns it into state."""
