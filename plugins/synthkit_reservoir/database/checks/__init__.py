"""Preflight checks of a scenario against the reference ingestion database, one plugin (entry
point) each (seed section 8), beside the snapshot of the database they read. Each error's fix is the seed's section 13 troubleshooting text."""
