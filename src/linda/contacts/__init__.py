"""Contacts: phone numbers, identities, and (later) import and mass updates."""
