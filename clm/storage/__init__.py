"""Storage: the engine and its pragmas, dialect functions, files (backups, journals, private
files), bulk writes, the schema tables and the append-only migrations. Imports only the base
modules (clm.errors, clm.dates, clm.lifecycle); its face is clm.db."""
