"""The six built-in telematics event types; each module is its own ``synthkit`` entry point."""
