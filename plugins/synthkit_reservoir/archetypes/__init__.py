"""The seed's four reservoir archetypes, one plugin (entry point) each."""
