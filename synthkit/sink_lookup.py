"""Which sink a command delivers to: by name (``--sink``), by a file name's ending, by a URL's
scheme; each claim two sinks make is taken by one (synthkit's own first) and said once."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any, TypeVar

from synthkit.errors import ConfigError, PluginError, article

if TYPE_CHECKING:
    from synthkit.brokers import BrokerRequest, Endpoint
    from synthkit.ledger import Ledger
    from synthkit.records import SinkSpec, SourceSpec


R = TypeVar("R")


class SinkLookup:
    """The sink-choosing half of :class:`synthkit.plugins.Plugins`."""

    _said: set[str]

    def sinks(self) -> dict[str, SinkSpec]:
        raise NotImplementedError

    def source_of(self, kind: str, name: str) -> str:
        raise NotImplementedError

    def sources(self) -> dict[str, SourceSpec]:
        raise NotImplementedError

    def claimants(self, attr: str) -> dict[str, list[SinkSpec]]:
        """Each claim of ``attr`` (``"extensions"``: file endings, ``"schemes"``: URL schemes)
        -> the sinks making it, synthkit's own first, then by name. The first takes it; the
        others are reached by ``--sink NAME`` only, so a partner's sink never changes what a
        built-in command does (``synthkit plugins`` lists every contested claim)."""

        out: dict[str, list[SinkSpec]] = {}
        for spec in sorted(self.sinks().values(), key=self._precedence):
            for claim in getattr(spec, attr):
                out.setdefault(claim.lower(), []).append(spec)
        return out

    def _precedence(self, spec: SinkSpec | SourceSpec, kind: str = "sinks") -> tuple[bool, str]:
        """Synthkit's own sinks (or sources) first, then by name."""
        return self.source_of(kind, spec.name).split(" ")[0] != "synthkit", spec.name

    def broker_source(self, url: str | None, name: str | None, *, needed_by: str) -> SourceSpec:
        """The source ``name`` (``--source``), else the one claiming the ``--broker`` URL's
        scheme (synthkit's own first), else ``mqtt``."""
        from synthkit.brokers import broker_url

        if name is not None or not url:
            return lookup(
                self.sources(),
                name or "mqtt",
                "source",
                fix=f"{needed_by} needs a source plugin (see `synthkit plugins`)"
                if name
                else "install (or enable) synthkit's mqtt plugin, which provides the mqtt source, "
                "or give --source NAME or --broker URL",
            )
        scheme = broker_url(url)[0]
        specs = sorted(
            (s for s in self.sources().values() if scheme in s.schemes),
            key=lambda s: self._precedence(s, "sources"),
        )
        if not specs:
            known = sorted(f"{x}://" for s in self.sources().values() for x in s.schemes)
            raise ConfigError(
                f"--broker {url!r}: no source reads {scheme}://",
                hint=f"installed: {', '.join(known) or 'none'}; or give --source NAME",
            )
        return specs[0]

    def contested(self) -> list[str]:
        """One line per claim two sinks make: who takes it, how to reach the other."""
        lines = []
        for attr, shape in (("extensions", "file ending {!r}"), ("schemes", "URL scheme '{}://'")):
            for claim, (first, *others) in self.claimants(attr).items():
                for other in others:
                    lines.append(
                        f"{shape.format(claim)} is claimed by sink {first.name!r} ({self.source_of('sinks', first.name)}) "
                        f"and by sink {other.name!r} ({self.source_of('sinks', other.name)}): {first.name!r} takes it; "
                        f"give --sink {other.name} to use the other"
                    )
        return lines

    def _taken(self, claim: str, specs: list[SinkSpec]) -> SinkSpec:
        """The sink that takes a claim, said once on stderr when others make it too."""
        if len(specs) > 1 and claim not in self._said:
            self._said.add(claim)
            from synthkit.console import stderr

            others = ", ".join(s.name for s in specs[1:])
            stderr().print(
                f"[yellow]note:[/] {claim} is claimed by sinks {specs[0].name} and {others}; using "
                f"{specs[0].name} (give --sink {specs[1].name} for the other)",
                highlight=False,
                soft_wrap=True,
            )
        return specs[0]

    def sink(
        self, name: str, kinds: str | tuple[str, ...], *, needed_by: str, fix: str = ""
    ) -> SinkSpec:
        """The sink ``name``, which must be of one of ``kinds`` (what ``needed_by`` can drive):
        an unknown name lists those kinds' sinks, one of another kind says so."""
        kinds = (kinds,) if isinstance(kinds, str) else kinds
        wanted = " or ".join(kinds)
        of_kind = {n: s for n, s in self.sinks().items() if s.kind in kinds}
        spec = self.sinks().get(registry_key(name))
        if spec is not None and spec.kind not in kinds:
            raise PluginError(
                f"sink {spec.name!r} is {article(spec.kind)} sink; {needed_by} needs {article(wanted)} sink "
                f"({wanted} sinks: {', '.join(sorted(of_kind)) or 'none installed'})",
                hint=fix or f"pick {article(wanted)} sink",
            )
        return lookup(
            of_kind, name, f"{wanted} sink", fix=fix or "see `synthkit plugins` for sinks"
        )

    def output_sink(
        self,
        out: str | os.PathLike[str] | None,
        name: str | None = None,
        *,
        kinds: tuple[str, ...] = ("file",),
        needed_by: str,
    ) -> SinkSpec:
        """The sink ``--sink NAME`` names, else the one ``out`` implies: a URL's scheme
        (``http://...``) picks the ingest sink claiming it, a file name its ending."""
        if name:
            return self.sink(name, kinds, needed_by=needed_by)
        if out is None:
            raise ConfigError(f"{needed_by} needs --out or --sink", hint="e.g. --out events.jsonl")
        text = os.fspath(out)
        scheme, sep, _ = text.partition("://")
        if sep and scheme.isalpha():
            claimant = self.url_sink(text)
            if "ingest" in kinds and claimant is not None:
                return claimant
            claimed = sorted(
                f"{x}://" for s in self.sinks().values() if s.kind == "ingest" for x in s.schemes
            )
            from synthkit.secrets import hide_in_url

            raise ConfigError(
                f"{needed_by} cannot deliver to {hide_in_url(text)!r}: no sink it can drive takes {scheme}:// URLs",
                hint=f"URL sinks: {', '.join(claimed) or 'none installed'}; or give --out a file name",
            )
        return self.file_sink(out)

    def url_sink(self, url: str) -> SinkSpec | None:
        """The ingest sink that claims ``url``'s scheme (``http`` for ``http://...``;
        ``postgresql`` for ``postgresql+psycopg://...``), if any."""
        scheme = url.partition("://")[0].lower()
        claims = self.claimants("schemes")
        for claim in (scheme, scheme.split("+")[0]):
            specs = [s for s in claims.get(claim, ()) if s.kind == "ingest"]
            if specs:
                return self._taken(f"{claim}://", specs)
        return None

    def default_store(self) -> str:
        """The store a command uses when none is named: the ``default_url`` of the first
        ingest sink offering one (synthkit's own first)."""
        for spec in sorted(self.sinks().values(), key=self._precedence):
            if spec.kind == "ingest" and spec.default_url:
                return spec.default_url
        raise ConfigError(
            "no store named, and no installed ingest sink offers a default one",
            hint="give --db-url URL (or SYNTHKIT_DB_URL)",
        )

    def store_identity(self, url: str) -> str:
        """The store ``url`` reaches, as the ingest sink claiming its scheme names it
        (``SinkSpec.identity``: a SQLite file's real path, a server without user or driver),
        else the URL without its password: what run records and reconcile match stores by."""
        from synthkit.secrets import redact

        spec = self.url_sink(url)
        return spec.identity(url) if spec is not None and spec.identity else redact(url)

    def broker(
        self, request: BrokerRequest, name: str | None = None, *, needed_by: str
    ) -> tuple[SinkSpec, Endpoint]:
        """The broker sink for ``request`` and the endpoint it resolved: the one named
        (``--sink``), else the one claiming the ``--broker`` URL's scheme, else ``mqtt``."""
        from synthkit.brokers import broker_url, endpoint_of

        fix = "see `synthkit plugins` for broker sinks"
        if request.url:
            scheme = broker_url(request.url)[0]
            claims = [s for s in self.claimants("schemes").get(scheme, ()) if s.kind == "broker"]
            if name is None and not claims:
                known = sorted(
                    f"{x}://"
                    for s in self.sinks().values()
                    if s.kind == "broker"
                    for x in s.schemes
                )
                raise ConfigError(
                    f"--broker {request.url!r}: no broker sink speaks {scheme}://",
                    hint=f"installed: {', '.join(known) or 'none'}; or give --sink NAME",
                )
            spec = (
                self.sink(name, "broker", needed_by=needed_by, fix=fix)
                if name is not None
                else self._taken(f"{scheme}://", claims)
            )
        else:
            spec = self.sink(
                name or "mqtt",
                "broker",
                needed_by=needed_by,
                fix="install (or enable) synthkit's mqtt sink plugin, or give --sink another broker sink",
            )
        return spec, endpoint_of(spec, request)

    def ledger(self, url: str, sink: str | None = None) -> Ledger:
        """What the ingest sink ``sink`` stored at ``url`` (``SinkSpec.ledger``); without a
        name, the sink claiming the URL's scheme, else the only ingest sink with a ledger."""
        if sink is not None:
            spec = self.sink(
                sink, "ingest", needed_by="reconcile", fix="give --sink an ingest sink"
            )
        else:
            claimant = self.url_sink(url)
            having = [
                s for s in self.sinks().values() if s.kind == "ingest" and s.ledger is not None
            ]
            if claimant is not None and claimant.ledger is not None:
                spec = claimant
            elif len(having) == 1:
                spec = having[0]
            else:
                raise ConfigError(
                    "no ingest sink to read stored rows from"
                    if not having
                    else f"several ingest sinks can say what they stored ({', '.join(s.name for s in having)})",
                    hint="give --sink NAME, or --stored FILE with the stored (client, seq) pairs",
                )
        if spec.ledger is None:
            raise ConfigError(
                f"sink {spec.name!r} cannot say what it stored",
                hint="export the stored (client, seq) pairs and give them as --stored FILE",
            )
        return checked_ledger(f"sink {spec.name!r}", spec.ledger(url))

    def file_sink(self, out: str | os.PathLike[str], fmt: str | None = None) -> SinkSpec:
        """The file sink named by ``fmt`` (a ``--format`` flag), else the one that claims
        the longest ending of ``out``'s name (``.jsonl.gz`` before ``.gz``); an error
        listing what exists otherwise."""
        sinks = {name: s for name, s in self.sinks().items() if s.kind == "file"}
        if fmt:
            return lookup(sinks, fmt, "format", fix=f"use --format {' or '.join(sorted(sinks))}")
        filename = os.path.basename(os.fspath(out)).lower()
        claims = sorted(
            (
                (ext, [s for s in specs if s.kind == "file"])
                for ext, specs in self.claimants("extensions").items()
            ),
            key=lambda claim: -len(claim[0]),
        )
        for ext, specs in claims:
            if specs and filename.endswith(ext) and len(filename) > len(ext):
                return self._taken(f"the file ending {ext}", specs)
        claimed = ", ".join(sorted(ext for ext, specs in claims if specs))
        raise PluginError(
            f"cannot tell the format of {os.fspath(out)!r} from its name",
            hint=f"end it with one of {claimed or 'none installed'}, or give --sink {'/'.join(sorted(sinks))}",
        )


def registry_key(name: str) -> str:
    """A name as the registries hold it (``Hard-Braking `` -> ``hard_braking``), for lookups."""
    return name.strip().lower().replace("-", "_")


def lookup(mapping: dict[str, R], name: str, kind: str, *, fix: str) -> R:
    """Look a record up by name, with an error that lists what exists."""
    key = registry_key(name)
    if key not in mapping:
        known = ", ".join(sorted(mapping)) or "none installed"
        raise PluginError(f"unknown {kind} {name!r} (known: {known})", hint=fix)
    return mapping[key]


def checked_ledger(whose: str, ledger: Any) -> Ledger:
    from synthkit.ledger import Ledger as LedgerBase

    if not isinstance(ledger, LedgerBase):
        raise PluginError(
            f"{whose}: its ledger returned {type(ledger).__name__}, not a synthkit.api.Ledger"
        )
    return ledger
