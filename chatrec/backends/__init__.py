"""Backends: the Chroma vector store, SQLite and PostgreSQL profiles (with their migrations), the embedders, and
bringing the store up to date."""
