"""The catalog: items and their files, the bundled catalog, and the catalog a data folder keeps."""
