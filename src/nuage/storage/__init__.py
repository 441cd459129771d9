"""Adapters behind the ports: SQL storage (SQLite embedded, PostgreSQL at scale)."""
