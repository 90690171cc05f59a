"""The management API: contacts, conversations, messages and accounts over HTTP, behind API tokens
(`linda.api.router.install_api` mounts it)."""
