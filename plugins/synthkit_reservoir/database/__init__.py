"""The reference ingestion database: what the seed's simulator wrote into, as a plugin."""
