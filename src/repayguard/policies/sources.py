"""Where policies come from: YAML text checked with the shipped jurisdiction profiles."""

from __future__ import annotations

from dataclasses import dataclass, field

from repayguard import resources
from repayguard.core.policy import (
    CompiledPolicy,
    JurisdictionProfile,
    Policy,
    PolicyInvalid,
    PolicyProblem,
    Profiles,
    check_policy,
    compile_policy,
    content_hash,
    load_profile,
    parse_policy,
)
from repayguard.policies.errors import PolicyRejected

JURISDICTIONS = ("CN", "EU", "UK", "US")


def profiles() -> dict[str, JurisdictionProfile]:
    """The shipped jurisdiction profiles (``resources/jurisdictions/*.yaml``) by code."""
    return {
        code: load_profile(resources.read_text(f"jurisdictions/{code.lower()}.yaml"))
        for code in JURISDICTIONS
    }


@dataclass(frozen=True, slots=True)
class CheckResult:
    """The outcome of checking a policy text: the policy when it parsed, and every problem."""

    policy: Policy | None
    problems: tuple[PolicyProblem, ...] = field(default=())

    @property
    def valid(self) -> bool:
        return self.policy is not None and not self.problems


def check_text(text: str, *, profiles: Profiles) -> CheckResult:
    """Run every static check on a YAML policy; never raises for a bad policy."""
    try:
        policy = parse_policy(text)
    except PolicyInvalid as invalid:
        return CheckResult(None, invalid.problems)
    return CheckResult(policy, tuple(check_policy(policy, profiles=profiles)))


def rejected(problems: tuple[PolicyProblem, ...], what: str = "the policy") -> PolicyRejected:
    """The error refusing a policy, with every problem in plain language and as data."""
    lines = "\n".join(f"  - {p}" for p in problems)
    return PolicyRejected(
        f"{what} has {len(problems)} problem(s):\n{lines}",
        hint="fix every problem listed and check again ('repayguard policy check FILE')",
        problems=[p.as_dict() for p in problems],
    )


def load_policy_text(text: str, *, profiles: Profiles) -> Policy:
    """A policy that passes every check (G2 included); raises PolicyRejected otherwise."""
    result = check_text(text, profiles=profiles)
    if result.policy is None or result.problems:
        raise rejected(result.problems)
    return result.policy


def compile_checked(
    policy: Policy, *, profiles: Profiles, lineage_hash: str | None = None
) -> CompiledPolicy:
    """Compile a checked policy with its jurisdiction's profile, for the runtime guardrail;
    ``lineage_hash`` names an unpublished file's bytes in lineage instead of its content."""
    return compile_policy(
        policy, profile=profiles.get(policy.jurisdiction), lineage_hash=lineage_hash
    )


def content_hash_of(policy: Policy) -> str:
    """The content hash of a policy as submitted (before a version number is assigned)."""
    return content_hash(policy)
