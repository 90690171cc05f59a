"""Messages out: the outbox, its senders, and the limiter that keeps them under Meta's limits."""
