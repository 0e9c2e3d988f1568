"""synthkit-coldchain: a partner's cold-chain fleet as a synthkit family (see README.md)."""
