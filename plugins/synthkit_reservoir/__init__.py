"""The water-reservoir family: scenario commands over the stationary and mobile models."""
