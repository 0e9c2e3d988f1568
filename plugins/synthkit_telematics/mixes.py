"""Named event mixes: weights that make the realised share of each event type a known one.

synthkit picks an event type among those *eligible* in the moment (speeding only above the
posted limit, late-night driving only at night), so a type's share of the events is not its
weight: with the declared weights (the original's 0.22 for speeding, 0.08 for late-night)
speeding is about 5% of the events and late-night about 2%. The original ``data/mock.py``
drew types regardless of context, so its shares are its weights. ``original`` is the set of
weights, calibrated once over 400,000 events of the default fleet (10 drivers, seed 42), under
which synthkit's events have the original's shares: hard_braking 0.18, aggressive_turn 0.12,
speeding 0.22, tailgating 0.10, late_night_driving 0.08, ping 0.30: averaged over seeds, each
within 0.006; one 10-driver fleet's own drivers move its shares a little (speeding within
0.04, the others within 0.015), since whether a moment allows speeding depends on the driver
(tests/test_dropin.py measures both). It is ``synthkit-mock``'s
default, so a model trained on the original's output sees the same world. Under
``--extreme-variance`` the risk profiles' multipliers apply on top, as in the original.

To calibrate again (after an event type's eligibility changes): multiply each weight by
(target share / realised share), speeding's cubed (it is eligible in only ~23% of moments),
and repeat until every share is within 0.002 (about ten rounds).
"""

from __future__ import annotations

from synthkit.api import ConfigError

MIXES: dict[str, dict[str, float]] = {
    "original": {
        "hard_braking": 0.009335,
        "aggressive_turn": 0.006175,
        "speeding": 0.9069,
        "tailgating": 0.005582,
        "late_night_driving": 0.05665,
        "ping": 0.01534,
    },
}


def mix_weights(name: str | None) -> dict[str, float]:
    """The weights of the mix ``name`` (None or "declared": each event type's own)."""
    if name is None or name == "declared":
        return {}
    if name not in MIXES:
        raise ConfigError(
            f"unknown event mix {name!r}", hint=f"known: declared, {', '.join(sorted(MIXES))}"
        )
    return dict(MIXES[name])
