"""The connection pool's bounds (issue 5), against a Mosquitto of the test's own: paho-mqtt
reuses message ids past 65,535 without checking which are still in flight, so the pool must
never let one client get there, and must not drop what waits."""

from __future__ import annotations

import pytest
from synthkit_mqtt.pool import ConnectionPool
from synthkit_mqtt.testbroker import LocalBroker

from tests.live import Subscriber

pytestmark = pytest.mark.services


@pytest.mark.slow
def test_one_client_past_the_message_id_space_loses_and_repeats_nothing(tmp_path):
    n = 70_000  # more than paho's 65,535 message ids, all handed over at once
    with LocalBroker(tmp_path, extra="max_queued_messages 0\n") as broker:
        sub = Subscriber("ids/one", broker.port)  # returns once the broker granted it
        pool = ConnectionPool(["one"], "127.0.0.1", broker.port, qos=1, per_client_limit=1_000)
        pool.connect()
        pool.publish([(0, "ids/one", b"%d" % seq) for seq in range(n)])
        drained = pool.drain(180)
        pool.close()
        heard = [payload for _, payload in sub.wait(n, timeout=200)]
        sub.close()
    counts = pool.conns[0].counts
    assert drained and (counts.emitted, counts.acknowledged, counts.failed) == (n, n, 0)
    assert sorted(map(int, heard)) == list(range(n))  # each once: no id reused, none lost


@pytest.mark.slow
def test_messages_waiting_when_the_pool_closes_count_as_failed(tmp_path):
    with LocalBroker(tmp_path) as broker:
        pool = ConnectionPool(["slow"], "127.0.0.1", broker.port, qos=1, per_client_limit=5)
        pool.connect()
        broker.stop()  # nothing will be acknowledged now
        pool.publish([(0, "ids/slow", b"x") for _ in range(50)])
        assert not pool.drain(1.0)
        pool.close()
    c = pool.conns[0].counts
    assert (c.emitted, c.acknowledged, c.failed) == (50, 0, 50)  # every message accounted for
