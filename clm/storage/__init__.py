"""Storage: the engine and its pragmas, dialect functions, files (backups, journals, private
files, the config file), bulk writes, the schema tables and the append-only migrations.
Imports only the base modules (clm.errors, clm.dates, clm.lifecycle, clm.plain); its face is
clm.db."""
