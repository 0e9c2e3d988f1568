"""The reservoir family's device models: each its own plugin (entry point)."""
