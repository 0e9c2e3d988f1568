"""The telematics family: the driver model and the ``synthkit telematics`` commands."""
