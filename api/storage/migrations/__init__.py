"""Alembic's scripts for the database schema; applied at start-up by api/storage/schema.py."""
