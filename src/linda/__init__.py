"""Linda: WhatsApp business bots on Meta's Cloud API."""

__version__ = "0.1.0"
