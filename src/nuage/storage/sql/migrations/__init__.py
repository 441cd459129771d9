"""The SQL schema's Alembic migrations: the environment (``env.py``) and one revision per change
(``versions``), applied in order by ``nuage.storage.sql.migrate``."""
