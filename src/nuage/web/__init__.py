"""The web entrypoint (ASGI): health, the portal's pages; the API mounts here."""
