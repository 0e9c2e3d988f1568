"""Preflight checks of a scenario against the ingestion database, one plugin each (seed
section 8). Each error's fix is the seed's section 13 troubleshooting text."""
