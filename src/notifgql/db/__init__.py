"""Storage: the table definitions, the engine and the migrations."""
