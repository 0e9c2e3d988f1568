"""The coldchain family: refrigerated units (reefer trucks, cold rooms) reporting their box
temperature, compressor and door on a fixed interval.

It has no commands of its own: it declares the scenario section it reads (``coldchain``),
its loader and its ticks, and synthkit's ``validate``, ``dry-run``, ``export``, ``live``,
``reconcile`` and ``replay`` run it. Its contract with device models: ``DeviceModel(
family="coldchain", mode="REEFER")`` whose ``factory(unit_ids, params, seed, interval_s)``
returns an object with ``emit(k0, n, origin_s) -> {column: array}`` (ticks ``k0..k0+n-1``,
tick-major, called from tick 0 on), holding at least ``temperature_c`` and ``door_open``.
"""

from __future__ import annotations

from synthkit import hookimpl
from synthkit.api import Family

NAME = "coldchain"
MODE = "REEFER"
REQUIRED_COLUMNS = ("temperature_c", "door_open")


def _load(path, plugins):  # the schema loads when a command reads a scenario
    from synthkit_coldchain.scenario import load_units

    return load_units(path, plugins)


def _ticks(fleet, first_seqs, origin_s):  # the model loads when a command runs
    from synthkit.api import ModelTicks

    return ModelTicks(fleet, first_seqs, origin_s, stream_column="unit_id")


def _payloads():  # the message a unit sends: compact, with the field names its telematics box uses
    import json

    def encode(batch):
        return [
            json.dumps(
                {"unit_id": r["unit_id"], "seq": r["seq"], "ts": r["ts"], "t": r["temperature_c"],
                 "door": r["door_open"], "comp": r["compressor_on"]},
                separators=(",", ":"),
            ).encode()
            for r in batch.rows()
        ]  # fmt: skip

    return encode


@hookimpl
def synthkit_register_families() -> list[Family]:
    return [
        Family(
            NAME,
            (MODE,),
            description="cold-chain fleets: reefer trucks and cold rooms, temperature under control",
            section="coldchain",
            load=_load,
            ticks=_ticks,
            topic="coldchain/{unit_id}/status",
            payloads=_payloads,
            stream_column="unit_id",
        )
    ]
