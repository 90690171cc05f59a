"""Contacts: phone numbers, imports, mass updates, consent and erasure."""
