"""mobile_truck: a device model plugin (water truck on a route, GPS + tank-level sensor)."""
