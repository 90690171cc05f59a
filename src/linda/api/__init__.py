"""The management API: contacts, conversations, messages and accounts over HTTP, behind API tokens."""

from linda.api.router import install_api

__all__ = ["install_api"]
