"""The endpoint's event rules are written twice on purpose: a fast path that only says yes or
no (every event an endpoint takes goes through it) and the explaining path a refused event
gets. The two must agree on every event; and the endpoint's socket must say IPPROTO_TCP, or
asyncio leaves Nagle on and each answer waits on a delayed ACK (issue 27: 40,000 events/s
instead of 67,000)."""

from __future__ import annotations

import copy
import json
import socket

import numpy as np
from synthkit_telematics.config import TelematicsConfig
from synthkit_telematics.event_rules import EventRules
from synthkit_telematics.generator import TelematicsGenerator
from synthkit_telematics.serve_run import _bound

from synthkit.encode import Encoder
from synthkit.plugins import build_plugins

BAD = [None, "", "x" * 65, -1, 1.5, True, "2026-01-05 02:22:37", 400, -200.0, [], {}, float("nan")]


def test_the_fast_path_and_the_explaining_path_agree_on_every_event():
    types = build_plugins().event_types()
    rules = EventRules(types)
    gen = TelematicsGenerator(TelematicsConfig(drivers=5, seed=3), types)
    enc = Encoder("jsonl", threads=1)
    events = [
        json.loads(x) for x in b"".join(enc.encode_bytes(b) for b in gen.batches(300)).splitlines()
    ]
    cases = list(events)
    for e in events[:40]:
        for field in list(e):
            for value in BAD:
                bad = copy.deepcopy(e)
                bad[field] = value
                cases.append(bad)
            gone = copy.deepcopy(e)
            del gone[field]
            cases.append(gone)
    cases += [None, [], "x", {"event_type": "ping"}, {**events[0], "event_type": "teleport"}]
    fine = np.array([rules._fine(c) for c in cases])
    explained = np.array([rules._why(c) == "" for c in cases])
    assert (fine == explained).all()
    assert fine[: len(events)].all() and not fine[len(events) :].all()


def test_the_endpoints_socket_says_tcp_so_answers_are_not_held_back():
    sock = _bound("127.0.0.1", 0)
    try:
        assert sock.proto == socket.IPPROTO_TCP
    finally:
        sock.close()
