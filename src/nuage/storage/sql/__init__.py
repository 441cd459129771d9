"""SQLAlchemy 2 Core storage: tables, mappers, repositories, unit of work, migrations."""
