"""Messages that leave a use-case: typed facts, named in the past tense, versioned.

A *fact* is one frozen dataclass per message name, owned by the feature that produces it
(``decisions/messages.py``, ``approvals/messages.py``, …). Producers emit facts; consumers
receive ``Message[TheFact]`` and read typed attributes. A fact becomes JSON only at the
boundaries that store or carry bytes — the outbox row, the audit record, the NATS body — through
:meth:`Fact.payload`, and comes back through :meth:`Fact.from_payload` (the outbox relay, the
NATS consumer). Both directions are derived from the dataclass's fields and their annotations,
so a fact cannot drift from its own wire form.

Wire form rules (they keep the bytes of the payloads written before facts were typed):

* ``datetime`` and ``date`` travel as ``isoformat()`` text; tuples and lists as lists;
  a nested dataclass as an object of its fields; a value with ``as_payload()`` /
  ``from_payload()`` (an ``Entitlement``) through those;
* a field declared with :func:`omitted_when_none` is left out of the payload when it is
  ``None`` (and reads back as ``None`` when missing), for keys that only some messages of a
  name have always carried;
* :func:`wire_key` names a field's key when it cannot be the attribute's name.
"""

from __future__ import annotations

import dataclasses
import types
import typing
import uuid
from collections.abc import Callable, Mapping
from datetime import date, datetime
from typing import Any, ClassVar, Generic, Self

from typing_extensions import TypeVar

from repayguard.errors import UnknownMessage

JSONValue = None | bool | int | float | str | list["JSONValue"] | dict[str, "JSONValue"]
"""What a payload holds once serialised."""

_OMIT_NONE: typing.Final = "repayguard.omit_none"
_WIRE_KEY: typing.Final = "repayguard.wire_key"


def omitted_when_none(*, key: str | None = None) -> Any:
    """A field that defaults to ``None`` and is left out of the payload while it is ``None``."""
    metadata: dict[str, object] = {_OMIT_NONE: True}
    if key is not None:
        metadata[_WIRE_KEY] = key
    return dataclasses.field(default=None, metadata=metadata)


def wire_key(key: str, **field_kwargs: Any) -> Any:
    """A field whose payload key is ``key`` (a keyword, or a name taken by the base class)."""
    return dataclasses.field(metadata={_WIRE_KEY: key}, **field_kwargs)


_FACTS: dict[str, type[Fact]] = {}


class Fact:
    """The body of one message name. Subclasses are frozen dataclasses that set ``NAME`` (the
    message's bus subject and audit action) and, when its wire form changes, ``VERSION``.

    Several names may share one shape: declare the fields once on a base without ``NAME`` and
    one subclass per name that only sets it (``ApprovalApproved(ApprovalFact)``).
    """

    __slots__ = ()

    NAME: ClassVar[str]
    VERSION: ClassVar[int] = 1

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        name = cls.__dict__.get("NAME")
        if name is None:
            return
        known = _FACTS.get(name)
        if known is not None and known.__qualname__ != cls.__qualname__:
            raise TypeError(f"{cls.__qualname__} and {known.__qualname__} both declare {name!r}")
        _FACTS[name] = cls

    def payload(self) -> dict[str, JSONValue]:
        """The JSON-ready payload: what the outbox, the audit trail and the wire hold."""
        out: dict[str, JSONValue] = {}
        for attribute, key, omit_none, encode, _ in _codec(type(self)):
            value = getattr(self, attribute)
            if value is None and omit_none:
                continue
            out[key] = encode(value)
        return out

    @classmethod
    def from_payload(cls, payload: Mapping[str, Any]) -> Self:
        """The fact back from its payload (keys the fact does not declare are ignored, so a
        newer producer's extra keys do not stop an older consumer)."""
        values: dict[str, Any] = {}
        for attribute, key, _, _, decode in _codec(cls):
            if key in payload:
                values[attribute] = decode(payload[key])
        try:
            return cls(**values)
        except TypeError as exc:
            raise UnknownMessage(
                f"a {getattr(cls, 'NAME', cls.__qualname__)} payload does not fit its fact: {exc}",
                hint="the producer and this process disagree on the message's fields; "
                "deploy the same release on both",
            ) from exc


F = TypeVar("F", bound=Fact, covariant=True, default=Fact)


class Message(Generic[F]):
    """One committed fact in its envelope. ``message_id`` is unique and stable across
    redeliveries, so consumers can recognise a message they have already processed."""

    __slots__ = ("_payload", "fact", "message_id")

    fact: F
    message_id: str
    _payload: dict[str, Any] | None

    def __init__(self, fact: F, message_id: str | None = None) -> None:
        object.__setattr__(self, "fact", fact)
        object.__setattr__(self, "message_id", message_id or uuid.uuid4().hex)
        object.__setattr__(self, "_payload", None)

    def __setattr__(self, key: str, value: object) -> None:
        raise dataclasses.FrozenInstanceError(f"cannot assign to field {key!r}")

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, Message)
            and other.message_id == self.message_id
            and other.fact == self.fact
        )

    def __hash__(self) -> int:
        return hash(self.message_id)

    def __repr__(self) -> str:
        return f"Message({self.fact!r}, message_id={self.message_id!r})"

    @property
    def name(self) -> str:
        """The bus subject and the audit action."""
        return self.fact.NAME

    @property
    def version(self) -> int:
        return self.fact.VERSION

    @property
    def payload(self) -> dict[str, Any]:
        """The fact serialised, once: the outbox row and the audit record of a commit read the
        same payload (a run's 2,000-entitlement message costs ~7 ms to serialise), and a fact
        does not change."""
        if self._payload is None:
            object.__setattr__(self, "_payload", self.fact.payload())
        assert self._payload is not None
        return self._payload

    @staticmethod
    def decode(
        name: str, payload: Mapping[str, Any], *, message_id: str, version: int = 1
    ) -> Message[Fact]:
        """A stored or received message back as its fact; :class:`UnknownMessage` when no fact
        of this process declares ``name`` in that version (the features that declare facts
        register them when imported: a process imports them all before it relays or
        consumes)."""
        return Message(fact_named(name, version).from_payload(payload), message_id=message_id)


def fact_named(name: str, version: int = 1) -> type[Fact]:
    """The fact declared for ``name``; :class:`UnknownMessage` if none, or if the message was
    written in another version of the fact's wire form."""
    fact = _FACTS.get(name)
    if fact is None:
        raise UnknownMessage(
            f"no message named {name!r} is known to this process",
            hint="a newer release may have produced it; deploy the same release everywhere",
        )
    if version != fact.VERSION:
        raise UnknownMessage(
            f"{name!r} arrived in version {version}, this process reads version {fact.VERSION}",
            hint="deploy the same release on the producer and the consumers",
        )
    return fact


def known_facts() -> dict[str, type[Fact]]:
    """Every declared fact by name (the features that declare them must have been imported)."""
    return dict(_FACTS)


# --- the codec: derived once per fact class from its fields' annotations --------------------

Encode = Callable[[Any], JSONValue]
Decode = Callable[[Any], Any]


Field = tuple[str, str, bool, Encode, Decode]
"""A fact's field on the wire: attribute, key, omitted when None, encoder, decoder."""
_CODECS: dict[type[Fact], tuple[Field, ...]] = {}


def _codec(cls: type[Fact]) -> tuple[Field, ...]:
    known = _CODECS.get(cls)
    if known is None:
        known = _CODECS[cls] = _derive_codec(cls)
    return known


def _derive_codec(cls: type[Fact]) -> tuple[Field, ...]:
    hints = typing.get_type_hints(cls)
    return tuple(
        (
            f.name,
            str(f.metadata.get(_WIRE_KEY, f.name)),
            bool(f.metadata.get(_OMIT_NONE, False)),
            _encoder(hints[f.name]),
            _decoder(hints[f.name]),
        )
        for f in dataclasses.fields(typing.cast(Any, cls))
    )


def _identity(value: Any) -> Any:
    return value


def _encoder(hint: Any) -> Encode:
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        members = [_encoder(a) for a in args if a is not type(None)]
        if len(members) == 1:
            only = members[0]
            return lambda v: None if v is None else only(v)
        return _encode_value
    if hint in (datetime, date):
        return lambda v: v.isoformat()
    if origin in (tuple, list, frozenset, set):
        inner = _encoder(args[0]) if args else _encode_value
        return lambda v: [inner(x) for x in v]
    if origin in (dict, Mapping) or hint is dict:
        inner = _encoder(args[1]) if len(args) == 2 else _encode_value
        return lambda v: {str(k): inner(x) for k, x in v.items()}
    if isinstance(hint, type) and dataclasses.is_dataclass(hint):
        if hasattr(hint, "as_payload"):
            return lambda v: v.as_payload()
        return _dataclass_encoder(hint)
    if isinstance(hint, type) and hasattr(hint, "as_payload"):
        return lambda v: v.as_payload()
    if hint in (str, int, float, bool, type(None)) or hint is Any:
        return _identity if hint is not Any else _encode_value
    return _encode_value


def _dataclass_encoder(cls: type) -> Encode:
    hints = typing.get_type_hints(cls)
    fields = [(f.name, _encoder(hints[f.name])) for f in dataclasses.fields(cls)]
    return lambda v: {name: encode(getattr(v, name)) for name, encode in fields}


def _encode_value(value: Any) -> JSONValue:
    """A value whose annotation does not say its type (``Any``, a union of several)."""
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, list | tuple | frozenset | set):
        return [_encode_value(v) for v in value]
    if isinstance(value, Mapping):
        return {str(k): _encode_value(v) for k, v in value.items()}
    if hasattr(value, "as_payload"):
        return typing.cast(JSONValue, value.as_payload())
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _encode_value(getattr(value, f.name)) for f in dataclasses.fields(value)}
    return typing.cast(JSONValue, value)


def _decoder(hint: Any) -> Decode:
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        members = [a for a in args if a is not type(None)]
        if len(members) == 1:
            only = _decoder(members[0])
            return lambda v: None if v is None else only(v)
        return _identity
    if hint is datetime:
        return datetime.fromisoformat
    if hint is date:
        return date.fromisoformat
    if origin is tuple:
        if len(args) == 2 and args[1] is Ellipsis:
            inner = _decoder(args[0])
            return lambda v: tuple(inner(x) for x in v)
        parts = [_decoder(a) for a in args]
        return lambda v: tuple(decode(x) for decode, x in zip(parts, v, strict=True))
    if origin in (list, frozenset, set):
        inner = _decoder(args[0]) if args else _identity
        build: Callable[[Any], Any] = origin
        return lambda v: build(inner(x) for x in v)
    if origin in (dict, Mapping):
        inner = _decoder(args[1]) if len(args) == 2 else _identity
        return lambda v: {k: inner(x) for k, x in v.items()}
    if isinstance(hint, type) and hasattr(hint, "from_payload"):
        return typing.cast(Decode, hint.from_payload)
    if isinstance(hint, type) and dataclasses.is_dataclass(hint):
        return _dataclass_decoder(hint)
    return _identity


def _dataclass_decoder(cls: type) -> Decode:
    hints = typing.get_type_hints(cls)
    fields = [(f.name, _decoder(hints[f.name])) for f in dataclasses.fields(cls)]
    return lambda v: cls(**{name: decode(v[name]) for name, decode in fields if name in v})
