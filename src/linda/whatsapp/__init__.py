"""The WhatsApp Cloud API: webhook payloads, signatures, outbound messages, the Graph API client."""
