"""The MQTT sink: one connection per device, acknowledgements tracked, TLS, reconnects."""
