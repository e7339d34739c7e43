"""A client's personal data, sealed with that client's own key (DOMAIN §2.8, §2.9).

The event log is append-only, so an erasure request is honoured by **crypto-shredding**:
every event field that holds a client's personal data is stored encrypted with a data
key of that client (AES-256-GCM, from the ``cryptography`` library), and erasing the
client destroys the key. The ciphertext stays in the log, and so does the hash chain
over it (store/hashchain.py), but nobody can read it any more.

How it works, transparently for aggregates and projections:

* An event class declares what in it is personal: ``PERSONAL`` (top-level fields) and
  ``PERSONAL_IN`` (keys inside a dict field, e.g. the ``changes`` of
  ``ClientDetailsChanged``, whose ``branch_id`` stays in the clear). The data belongs to
  the event's originator: only the client's own events (and its snapshots) carry it.
  ``CREATES_KEY`` marks the event that brings the client, and its key, into being;
  ``SHREDS_KEY`` the event that destroys the key (``ClientErased``).
* On write (``seal``), those fields leave the JSON state and travel as one sealed blob
  under ``"_personal"``. A new key rides on the stored event to the recorder, which
  writes it into ``client_keys`` in the same transaction as the event.
* On read (``unseal``), the blob is opened with the key and the fields put back. When the
  key is gone, the fields are simply absent; ``fill_erased`` gives the event's required
  ones an empty value, so aggregates and projections read an erased client as a record
  with no personal data (``ClientErased`` then marks it ``erased``).

Keys never appear in events, in the command log or in snapshots. Ledger events (money,
passes, visits) carry amounts, dates and ids only, and have nothing to seal.

The future (an event's shape changes): sealed fields are put back *before* the class's
upcasters run, so an upcaster sees the event as it was written and may rename or split a
personal field like any other. An erased event reaches the upcasters without its personal
fields; an upcaster that needs one must treat it as optional. Moving a field into or out
of ``PERSONAL`` is itself a shape change: new events are written the new way and old ones
still read, because ``unseal`` puts back whatever the blob holds.
"""

from __future__ import annotations

import base64
import os
import threading
from collections.abc import Callable
from typing import Any, get_origin
from uuid import UUID

import orjson
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

SEALED = "_personal"
NONCE = 12


class ErasedClient(Exception):
    """A write of personal data for a client whose key was destroyed."""

    def __init__(self, subject: str) -> None:
        super().__init__(f"client {subject} was erased: their personal data can no longer be written")
        self.subject = subject


def declares_personal(cls: type[Any]) -> bool:
    return bool(
        getattr(cls, "PERSONAL", ()) or getattr(cls, "PERSONAL_IN", {}) or hasattr(cls, "personal_in")
        or getattr(cls, "CREATES_KEY", False)
    )


class KeyRing:
    """The clients' data keys of one store, cached. ``lookup`` reads one from ``client_keys``.

    A key made for a new client is *pending* until the write that carries it commits
    (``settle``): the projections applied inside that write read it from here, and a write
    that fails forgets it. ``None`` in the cache means erased."""

    def __init__(
        self,
        lookup: Callable[[str], bytes | None] | None = None,
        lookup_all: Callable[[], list[tuple[str, bytes]]] | None = None,
    ) -> None:
        self.lookup = lookup
        # The first miss reads every key at once (a rebuild meets every client); later
        # misses (clients another process registered since) read one.
        self.lookup_all = lookup_all
        self._cache: dict[str, bytes | None] = {}
        self._pending: dict[str, bytes] = {}
        self._lock = threading.Lock()

    def new_key(self, subject: str) -> bytes:
        key = AESGCM.generate_key(bit_length=256)
        with self._lock:
            self._pending[subject] = key
        return key

    def key(self, subject: str) -> bytes | None:
        pending = self._pending.get(subject)
        if pending is not None:
            return pending
        try:
            return self._cache[subject]
        except KeyError:
            pass
        if self.lookup_all is not None:
            everyone = self.lookup_all()
            with self._lock:
                self.lookup_all = None
                for client, key in everyone:
                    self._cache.setdefault(client, key)
            if subject in self._cache:
                return self._cache[subject]
        found = self.lookup(subject) if self.lookup is not None else None
        with self._lock:
            self._cache[subject] = found
        return found

    def settle(self, subject: str, key: bytes | None, *, landed: bool) -> None:
        """After a write: a key it created is now stored (or, if it failed, never was)."""
        with self._lock:
            self._pending.pop(subject, None)
            if landed:
                self._cache[subject] = key

    def forget(self, subject: str) -> None:
        """The client was erased (here or by another process): never use the key again."""
        with self._lock:
            self._pending.pop(subject, None)
            self._cache[subject] = None


def _aad(subject: str) -> bytes:
    return subject.encode()


def seal(cls: type[Any], state: dict[str, Any], subject: str, ring: KeyRing) -> bytes | None:
    """Move ``cls``'s personal fields of ``state`` into one sealed blob (in place); the
    client's new key when this event creates it."""
    personal: dict[str, Any] = {}
    for name in getattr(cls, "PERSONAL", ()):
        if name in state:
            personal[name] = state.pop(name)
    hook = getattr(cls, "personal_in", None)
    nested: dict[str, tuple[str, ...]] = hook(state) if hook is not None else getattr(cls, "PERSONAL_IN", {})
    for outer, inner in nested.items():
        held = state.get(outer)
        if isinstance(held, dict):
            for name in inner:
                if name in held:
                    personal[f"{outer}.{name}"] = held.pop(name)
    new: bytes | None = None
    key: bytes | None = None
    if getattr(cls, "CREATES_KEY", False):
        key = new = ring.new_key(subject)
    elif personal:
        key = ring.key(subject)
    if not personal:
        return new
    if key is None:
        raise ErasedClient(subject)
    nonce = os.urandom(NONCE)
    sealed = AESGCM(key).encrypt(nonce, orjson.dumps(personal), _aad(subject))
    state[SEALED] = base64.b64encode(nonce + sealed).decode()
    return new


def unseal(state: dict[str, Any], subject: str, ring: KeyRing) -> dict[str, Any]:
    """Put the sealed fields back into ``state`` (in place) if the client's key exists."""
    blob = state.pop(SEALED, None)
    if blob is None:
        return state
    key = ring.key(subject)
    if key is None:
        return state  # erased: the fields stay absent
    raw = base64.b64decode(blob)
    try:
        personal = orjson.loads(AESGCM(key).decrypt(raw[:NONCE], raw[NONCE:], _aad(subject)))
    except InvalidTag:
        # A key that does not open it is a key made for a write that never landed (a
        # concurrent duplicate): the stored key decides, so ask for it again.
        ring.settle(subject, None, landed=False)
        with ring._lock:
            ring._cache.pop(subject, None)
        key = ring.key(subject)
        if key is None:
            return state
        personal = orjson.loads(AESGCM(key).decrypt(raw[:NONCE], raw[NONCE:], _aad(subject)))
    for name, value in personal.items():
        outer, _, inner = name.partition(".")
        if inner:
            held = state.setdefault(outer, {})
            if isinstance(held, dict):
                held[inner] = value
        else:
            state[name] = value
    return state


def erased_value(cls: type[Any], name: str) -> Any:
    """What an erased field reads as: its default, or the empty value of its type."""
    fields = getattr(cls, "model_fields", {})
    info = fields.get(name)
    if info is None:
        return None
    if not info.is_required():
        return info.get_default(call_default_factory=True)
    kind = get_origin(info.annotation) or info.annotation
    if kind is str:
        return ""
    if kind is dict:
        return {}
    if kind in (tuple, list):
        return []
    return None


def fill_erased(cls: type[Any], state: dict[str, Any]) -> dict[str, Any]:
    """Give the top-level personal fields an erased event lacks their empty value."""
    for name in getattr(cls, "PERSONAL", ()):
        if name not in state:
            state[name] = erased_value(cls, name)
    return state


def subject_of(originator_id: UUID | str) -> str:
    return str(originator_id) if not isinstance(originator_id, str) or len(originator_id) != 32 else str(UUID(originator_id))
