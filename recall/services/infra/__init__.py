"""Infrastructure the use-cases share: logging, backups, the operator's name, output files,
opening the database, screening free text for the audit log."""
