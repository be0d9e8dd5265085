"""The decision engine in effect: the policy in force, the risk model and the tier bands.

The policy in force is the latest published version of ``decisions.policy_name`` in the policy
store, its content hash verified on load; decisions name its version number and hash in their
lineage. A policy file (``decisions.policy_path``) or a bands file (``decisions.bands_path``)
is a development override: decisions made with it say ``unpublished`` and name the sha256 of
the file's bytes, and production refuses both (config.py).

An :class:`EngineSlot` holds this process's engine. Engines are immutable; publishing a policy
or promoting a model puts a new engine in the slot, and a run that took the old one finishes
with it.
"""

from __future__ import annotations

import hashlib
import threading
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Final

from sqlalchemy.orm import Session

from repayguard import policies, resources
from repayguard.core.policy import CompiledPolicy, Policy, Profiles
from repayguard.core.policy.overlay import Overlay
from repayguard.core.scoring import RiskModel
from repayguard.core.scoring.expert import load_expert_model
from repayguard.core.tiers import TierBands, load_bands
from repayguard.entitlements import MethodStates
from repayguard.policies.errors import PolicyNotInForce

DEFAULT_POLICY = "policies/cn-default.yaml"
DEFAULT_MODEL = "models/expert-v1.json"
DEFAULT_BANDS = "tiers/bands-v1.json"
UNPUBLISHED: Final = "unpublished"
"""The policy (or bands) version decisions record when a development override decided."""


@dataclass(frozen=True, slots=True)
class Challenger:
    """A policy evaluated beside every production decision with no effect (shadow mode)."""

    name: str
    version: str
    """The published version number, or ``draft:<id>`` for a stored draft."""
    compiled: CompiledPolicy

    @property
    def content_hash(self) -> str:
        return self.compiled.content_hash


@dataclass(frozen=True, slots=True)
class DecisionEngine:
    """What turns event history into decisions; immutable, shared by every driver."""

    policy: Policy
    compiled: CompiledPolicy
    model: RiskModel
    bands: TierBands
    bands_hash: str = ""
    """sha256 of the tier bands document the engine decides with."""
    overrides: tuple[str, ...] = ()
    """Development overrides in effect, as ``policy: PATH`` / ``bands: PATH``."""
    challenger: Challenger | None = None
    """The shadow policy every run also evaluates (stored beside, never applied)."""
    overlays: tuple[Overlay, ...] = ()
    """The armed emergency overlays every run applies over the policy (in arming order)."""

    def with_model(self, model: RiskModel) -> DecisionEngine:
        """The same engine deciding with another risk model (after a promotion)."""
        return replace(self, model=model)

    def with_policy(self, policy: Policy, compiled: CompiledPolicy) -> DecisionEngine:
        """The same engine deciding with another policy (after a publication)."""
        return replace(self, policy=policy, compiled=compiled)

    @property
    def defaults(self) -> MethodStates:
        """The policy's default-row states: what a borrower has before any decision."""
        row = self.compiled.default_outputs
        return MethodStates(
            row["auto_debit"], row["early_repayment"], row["manual"], tuple(row["manual_channels"])
        )

    @property
    def lineage(self) -> dict[str, str]:
        """What decided, as a run's report and ``/healthz`` name it."""
        armed = {"overlays": ",".join(o.overlay_id for o in self.overlays)} if self.overlays else {}
        return {
            "policy_name": self.policy.name,
            "policy_version": self.compiled.version,
            "policy_hash": self.compiled.content_hash,
            "bands_version": self.bands.version,
            "bands_hash": self.bands_hash,
            "model_version": self.model.version,
            **armed,
        }


def load_engine(
    *,
    policy_path: Path | None,
    model_path: Path | None,
    bands_path: Path | None,
    model: RiskModel | None = None,
) -> DecisionEngine:
    """An engine from files alone (notebooks, unit tests): the policy at ``policy_path``,
    stamped ``unpublished``, or the shipped policy document as it is written; services take
    the policy from the store (:class:`EngineSlot`).

    The risk model is, in order of precedence: the points-table file at ``model_path`` (an
    explicit setting wins), ``model`` (the registry's production version), the shipped expert
    model.
    """
    known = policies.profiles()
    if policy_path is not None:
        policy, compiled = override_policy(policy_path, profiles=known)
    else:
        policy = policies.load_policy_text(resources.read_text(DEFAULT_POLICY), profiles=known)
        compiled = policies.compile_checked(policy, profiles=known)
    model, bands, bands_hash = _model_and_bands(model_path, bands_path, model)
    return DecisionEngine(
        policy=policy,
        compiled=compiled,
        model=model,
        bands=bands,
        bands_hash=bands_hash,
        overrides=_overrides(policy_path, bands_path),
    )


def override_policy(path: Path, *, profiles: Profiles) -> tuple[Policy, CompiledPolicy]:
    """A policy file as a development override: checked like any policy, its version
    ``unpublished`` whatever the file states (a stated number would collide with the store's),
    its lineage hash the sha256 of the file's bytes."""
    data = path.read_bytes()
    policy = policies.load_policy_text(data.decode("utf-8"), profiles=profiles)
    policy = policy.model_copy(update={"version": UNPUBLISHED})
    compiled = policies.compile_checked(
        policy, profiles=profiles, lineage_hash=hashlib.sha256(data).hexdigest()
    )
    return policy, compiled


def published_policy(
    session: Session, name: str, *, profiles: Profiles
) -> tuple[Policy, CompiledPolicy] | None:
    """The latest published version of ``name`` (hash verified) compiled, or None."""
    found = policies.find_latest(session, name)
    if found is None or found.policy is None:
        return None
    return found.policy, policies.compile_checked(found.policy, profiles=profiles)


def _model_and_bands(
    model_path: Path | None, bands_path: Path | None, model: RiskModel | None
) -> tuple[RiskModel, TierBands, str]:
    if model_path is not None or model is None:
        text = model_path.read_text(encoding="utf-8") if model_path else None
        model = load_expert_model(text or resources.read_text(DEFAULT_MODEL))
    if bands_path is not None:
        data = bands_path.read_bytes()
        bands = replace(load_bands(data.decode("utf-8")), version=UNPUBLISHED)
    else:
        data = resources.read_text(DEFAULT_BANDS).encode("utf-8")
        bands = load_bands(data.decode("utf-8"))
    return model, bands, hashlib.sha256(data).hexdigest()


def _overrides(policy_path: Path | None, bands_path: Path | None) -> tuple[str, ...]:
    named = {"policy": policy_path, "bands": bands_path}
    return tuple(f"{what}: {path}" for what, path in named.items() if path is not None)


class EngineSlot:
    """This process's decision engine, replaced whole and never changed in place.

    Empty until the store holds a published version of ``policy_name`` (or a development
    override is set): reading it then refuses with what to do. A driver takes ``current()``
    once per run and keeps that engine to the end of the run.
    """

    def __init__(
        self,
        *,
        policy_name: str,
        model: RiskModel,
        bands: TierBands,
        bands_hash: str,
        overrides: tuple[str, ...] = (),
    ) -> None:
        self.policy_name = policy_name
        self._parts: tuple[RiskModel, TierBands, str, tuple[str, ...]] = (
            model,
            bands,
            bands_hash,
            overrides,
        )
        self._engine: DecisionEngine | None = None
        self._challenger: Challenger | None = None
        self._overlays: tuple[Overlay, ...] = ()
        self._lock = threading.Lock()  # a promotion and a publication may arrive together

    @property
    def overrides(self) -> tuple[str, ...]:
        return self._parts[3]

    @property
    def loaded(self) -> DecisionEngine | None:
        """The engine, or None while no policy is in force."""
        return self._engine

    def current(self) -> DecisionEngine:
        """The engine to decide with; refused while no policy is in force."""
        engine = self._engine
        if engine is None:
            raise PolicyNotInForce(
                f"no version of policy {self.policy_name!r} is published, so nothing may decide",
                hint="submit the policy and have it approved ('repayguard policy submit FILE', "
                "'repayguard policy publish DRAFT --as YOU', a second person's 'repayguard "
                "approvals approve'); for the shipped policy, run 'repayguard db upgrade'",
            )
        return engine

    def replace(self, engine: DecisionEngine) -> None:
        """Put ``engine`` in the slot (a swap: runs holding the old one keep it)."""
        with self._lock:
            self._engine = replace(engine, challenger=self._challenger, overlays=self._overlays)
            self._parts = (engine.model, engine.bands, engine.bands_hash, engine.overrides)

    @property
    def challenger(self) -> Challenger | None:
        return self._challenger

    def use_challenger(self, challenger: Challenger | None) -> None:
        """Evaluate ``challenger`` beside every decision from now on (None: stop)."""
        with self._lock:
            self._challenger = challenger
            if self._engine is not None:
                self._engine = replace(self._engine, challenger=challenger)

    @property
    def overlays(self) -> tuple[Overlay, ...]:
        return self._overlays

    def use_overlays(self, overlays: tuple[Overlay, ...]) -> None:
        """Apply these armed emergency overlays in every run from now on (swapped whole when
        one is armed, lifted, expires or lapses), so no routine re-decision undoes them."""
        with self._lock:
            self._overlays = overlays
            if self._engine is not None:
                self._engine = replace(self._engine, overlays=overlays)

    def use_model(self, model: RiskModel) -> None:
        """Decide with ``model`` from now on (a promotion), with or without a policy yet."""
        with self._lock:
            _, bands, bands_hash, overrides = self._parts
            self._parts = (model, bands, bands_hash, overrides)
            if self._engine is not None:
                self._engine = self._engine.with_model(model)

    def reload_policy(self, session: Session, *, profiles: Profiles) -> bool:
        """Take the latest published version of ``policy_name`` from the store (hash
        verified); True when the policy in force changed. A development override stays."""
        if any(o.startswith("policy:") for o in self.overrides):
            return False
        found = published_policy(session, self.policy_name, profiles=profiles)
        if found is None:
            return False
        policy, compiled = found
        with self._lock:
            engine = self._engine
            if engine is not None and engine.compiled.content_hash == compiled.content_hash:
                return False
            model, bands, bands_hash, overrides = self._parts
            self._engine = (
                engine.with_policy(policy, compiled)
                if engine is not None
                else DecisionEngine(
                    policy,
                    compiled,
                    model,
                    bands,
                    bands_hash,
                    overrides,
                    self._challenger,
                    self._overlays,
                )
            )
        return True


def open_slot(
    *,
    policy_name: str,
    policy_path: Path | None,
    model_path: Path | None,
    bands_path: Path | None,
    profiles: Profiles,
) -> EngineSlot:
    """The engine slot of a starting process: filled with the development override when
    ``policy_path`` is set; otherwise empty until :meth:`EngineSlot.reload_policy` finds a
    published version of ``policy_name``."""
    model, bands, bands_hash = _model_and_bands(model_path, bands_path, None)
    overrides = _overrides(policy_path, bands_path)
    slot = EngineSlot(
        policy_name=policy_name,
        model=model,
        bands=bands,
        bands_hash=bands_hash,
        overrides=overrides,
    )
    if policy_path is not None:
        policy, compiled = override_policy(policy_path, profiles=profiles)
        slot.replace(DecisionEngine(policy, compiled, model, bands, bands_hash, overrides))
    return slot
