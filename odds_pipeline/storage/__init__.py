"""PostgreSQL storage: the embedded server, models, sessions and bulk writers. No Dagster here."""
