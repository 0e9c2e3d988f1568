"""synthkit's built-in fault types for any family: what a sensor reports wrong (stuck_at,
drift, spike, noise_burst, offset), what the device does wrong (clock_skew, gps_jump) and
what delivery does wrong (malformed, drop, dropout, duplicate). A scenario names them in its
``faults:`` block (docs/faults.md)."""

from __future__ import annotations

from synthkit import hookimpl
from synthkit.api import FaultType


@hookimpl
def synthkit_register_fault_types() -> list[FaultType]:
    from synthkit_faults import delivery, device, values

    def sensor(name, cls, params, what):
        return FaultType(name, cls, params, group="sensor", description=what)

    return [
        sensor("stuck_at", values.StuckAt, values.StuckParams, "the sensor reads one value"),
        sensor("drift", values.Drift, values.DriftParams, "a reading off by per_day more each day"),
        sensor("spike", values.Spike, values.SpikeParams, "a share of readings multiplied"),
        sensor("noise_burst", values.NoiseBurst, values.NoiseParams, "Gaussian noise added"),
        sensor("offset", values.Offset, values.OffsetParams, "a calibration offset and gain error"),
        FaultType(
            "clock_skew",
            device.ClockSkew,
            device.ClockSkewParams,
            group="device",
            description="the device clock off by offset_ms, growing per_day_ms a day",
        ),
        FaultType(
            "gps_jump",
            device.GpsJump,
            device.GpsJumpParams,
            group="device",
            description="a share of position fixes land km away",
        ),
        FaultType(
            "malformed",
            values.Malformed,
            values.MalformedParams,
            group="delivery",
            description="a field left out or out of range, for rejection paths",
        ),
        FaultType(
            "drop",
            delivery.Drop,
            delivery.DropParams,
            group="delivery",
            description="a share of records never arrive",
        ),
        FaultType(
            "dropout",
            delivery.Dropout,
            group="device",
            description="the device sends nothing through the window",
        ),
        FaultType(
            "duplicate",
            delivery.Duplicate,
            delivery.DuplicateParams,
            group="delivery",
            description="records delivered again (every Nth seq or a share)",
        ),
    ]
