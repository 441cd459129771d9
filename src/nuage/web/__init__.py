"""The web entrypoint (ASGI): health, overview pages; the API and portal mount here."""
