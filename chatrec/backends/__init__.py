"""Backends: the Chroma vector store, SQLite profiles, the embedders, and bringing the store up to date."""
