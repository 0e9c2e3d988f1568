"""stationary_tank: a device model plugin (tank + ultrasonic level sensor)."""
