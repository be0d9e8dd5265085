"""Host floats in, result floats out: the exact conversions of zen-engine's Python binding.

A ``float`` given to the engine becomes a decimal through its own binary-to-decimal steps
(exact value, then trimmed to the ~16 digits a double guarantees); a result becomes a ``float``
through the engine's own (not correctly rounded) decimal-to-double steps. Both are reproduced
bit for bit. The reading of floats is monotonic, which lets a float column be compared with a
decimal through one float threshold (``first_at_least`` / ``last_at_most``).
"""

from __future__ import annotations

import math
import struct
from bisect import bisect_right
from decimal import Decimal
from functools import lru_cache
from typing import Final

from repayguard.rules.zen.errors import ZenError, ZenEvaluationError
from repayguard.rules.zen.numbers import MAX_MANTISSA, MAX_SCALE, make, parts

_POW10: Final = tuple(10**k for k in range(60))
_POW5: Final = tuple(5**k for k in range(43))  # 5^42 exceeds 96 bits


def from_float(value: float) -> Decimal:
    """A host float as the engine reads it: exact binary value, trimmed to ~16 digits."""
    if not math.isfinite(value):
        raise ZenEvaluationError(f"the number {value} is not finite")
    raw: int = struct.unpack("<Q", struct.pack("<d", value))[0]
    result = _from_float_bits(raw)
    if result is None:
        raise ZenEvaluationError(f"the number {value!r} is too large for the engine")
    return result


@lru_cache(maxsize=1 << 16)
def _from_float_bits(raw: int) -> Decimal | None:
    negative = raw >> 63 == 1
    biased = (raw >> 52) & 0x7FF
    fraction = raw & 0x000F_FFFF_FFFF_FFFF
    if biased == 0 and fraction == 0:
        return make(negative, 0, 0)
    exponent2 = biased - 1023
    bits = fraction
    if biased == 0:
        exponent2 += 1
    else:
        bits |= 1 << 52
    exponent2 -= 52
    return _base2_to_decimal(bits, exponent2, negative)


def _base2_to_decimal(bits: int, exponent2: int, negative: bool) -> Decimal | None:
    """The engine's float-to-decimal steps, taken in runs (same result as one at a time)."""
    exponent5 = -exponent2
    exponent10 = exponent2
    while exponent5 > 0:
        if bits & 1 == 0:
            run = min((bits & -bits).bit_length() - 1, exponent5)
            bits >>= run
            exponent10 += run
            exponent5 -= run
            continue
        run = min(bisect_right(_POW5, MAX_MANTISSA // bits) - 1, exponent5)
        if run > 0:  # multiplying an odd mantissa by 5 keeps it odd
            bits *= _POW5[run]
            exponent5 -= run
        else:  # would overflow: halve instead, losing the low bit
            exponent5 -= 1
            exponent10 += 1
            bits >>= 1
    while exponent5 < 0:
        if bits.bit_length() <= 95:
            run = min(96 - bits.bit_length(), -exponent5)
            bits <<= run
            exponent10 -= run
            exponent5 += run
        elif exponent10 * 2 > -exponent5:
            return None
        else:
            exponent5 += 1
            bits //= 5
    while exponent10 > 0:
        if bits * 10 <= MAX_MANTISSA:
            bits *= 10
            exponent10 -= 1
        else:
            return None
    while exponent10 < -MAX_SCALE:
        bits, rem10 = divmod(bits, 10)
        exponent10 += 1
        if bits == 0:
            exponent10 = 0
            break
        if rem10 >= 5:
            bits += 1
    # Keep only the digits a double guarantees (mantissa below 2^52).
    while exponent10 < 0 and bits >> 52 != 0:
        bits, rem10 = divmod(bits, 10)
        exponent10 += 1
        if rem10 >= 5:
            bits += 1
    while exponent10 < 0 and bits % 10 == 0:
        bits //= 10
        exponent10 += 1
    return make(negative, bits, -exponent10)


def to_float(value: Decimal) -> float:
    """A result as the engine's Python binding returns it (its own decimal-to-double steps)."""
    exponent = value.as_tuple().exponent
    if exponent == 0:
        return float(int(value)) if not value.is_zero() else 0.0
    negative, mantissa, scale = parts(value)
    if scale == 0:
        result = float(mantissa)
        return -result if negative and mantissa else result
    precision = _POW10[scale]
    integral, frac = divmod(mantissa, precision)
    frac_f = float(frac) / float(precision)
    result = float(integral)
    if frac_f != 0.0:
        result = result + frac_f
        round_to = _powi10(scale)
        result = _round_half_away(result * round_to) / round_to
    return -result if negative else result


def _powi10(n: int) -> float:
    """10^n computed by squaring, as the engine's compiled code does (not correctly rounded)."""
    base, result = 10.0, 1.0
    while True:
        if n & 1:
            result *= base
        n //= 2
        if n == 0:
            return result
        base *= base


def _round_half_away(x: float) -> float:
    t = float(math.trunc(x))
    if abs(x - t) >= 0.5:
        t += math.copysign(1.0, x)
    return t


# -- float order ------------------------------------------------------------------------------


def float_key(x: float) -> int:
    bits: int = struct.unpack("<q", struct.pack("<d", x))[0]
    return bits if bits >= 0 else -(bits & 0x7FFF_FFFF_FFFF_FFFF)


def key_float(key: int) -> float:
    bits = key if key >= 0 else (-key) | (1 << 63)
    value: float = struct.unpack("<d", struct.pack("<Q", bits))[0]
    return value


@lru_cache(maxsize=1)
def max_float() -> float:
    """The largest float the engine accepts (larger ones do not fit its decimals)."""
    low, high = 0, float_key(math.inf) - 1
    while low < high:
        mid = (low + high + 1) // 2
        try:
            from_float(key_float(mid))
            low = mid
        except ZenError:
            high = mid - 1
    return key_float(low)


def _dec(key: int) -> Decimal:
    return from_float(key_float(key))


@lru_cache(maxsize=4096)
def first_at_least(target: Decimal) -> int:
    """Key of the smallest accepted float whose decimal reading is >= target (or one past)."""
    top = float_key(max_float())
    low, high = -top, top + 1
    while low < high:
        mid = (low + high) // 2
        if _dec(mid) >= target:
            high = mid
        else:
            low = mid + 1
    return low


@lru_cache(maxsize=4096)
def last_at_most(target: Decimal) -> int:
    top = float_key(max_float())
    low, high = -top - 1, top
    while low < high:
        mid = (low + high + 1) // 2
        if _dec(mid) <= target:
            low = mid
        else:
            high = mid - 1
    return low


def float_range(value: Decimal) -> tuple[float, float]:
    top = float_key(max_float())
    low_key, high_key = first_at_least(value), last_at_most(value)
    if low_key > top or high_key < -top or low_key > high_key:
        return (1.0, 0.0)
    return key_float(low_key), key_float(high_key)


def threshold(operator: str, value: Decimal) -> float:
    """The float ``t`` such that, for every float ``x`` the engine accepts, the engine's
    ``x <op> value`` equals the host's ``x <op> t`` (``op`` one of ``< <= > >=``).

    The reading is monotonic, so one threshold per literal lets a host compare floats (and
    integers up to 2**53, which are floats read exactly) without reading each one.
    """
    if operator in (">=", "<"):
        return key_float(first_at_least(value))
    return key_float(last_at_most(value))
