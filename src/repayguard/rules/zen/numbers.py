"""ZEN numbers: 96-bit decimals with a scale of 0-28, computed exactly as zen-engine computes them.

zen-engine stores every number as a 96-bit integer mantissa with a decimal scale (0-28 digits
after the point). Results that do not fit are rounded half-to-even to fewer digits; results that
cannot fit at all are an error. The scale is part of the value (``1.10 + 2.20`` is ``3.30``),
which shows in ``string(...)`` and templates. Values are held as :class:`decimal.Decimal` whose
exponent is minus the scale, so comparisons and hashing work by value.

Host floats come in and results go out through :mod:`.floats`.
"""

from __future__ import annotations

from decimal import Context, Decimal, InvalidOperation
from typing import Final

from repayguard.rules.zen.errors import ZenEvaluationError

MAX_SCALE: Final = 28
MAX_MANTISSA: Final = (1 << 96) - 1
ZERO: Final = Decimal(0)
ONE: Final = Decimal(1)
_EXACT: Final = Context(prec=2000, Emin=-999_999, Emax=999_999)
_POW10: Final = tuple(10**k for k in range(60))


class NumberOverflow(ZenEvaluationError):
    """A result that does not fit the engine's 96-bit decimal."""


def parts(value: Decimal) -> tuple[bool, int, int]:
    """(negative, mantissa, scale) of a number."""
    sign, digits, exponent = value.as_tuple()
    mantissa = 0
    for d in digits:
        mantissa = mantissa * 10 + d
    assert isinstance(exponent, int)
    return bool(sign), mantissa, -exponent


def make(negative: bool, mantissa: int, scale: int) -> Decimal:
    """The number ``(-1)^negative * mantissa / 10^scale`` with exactly that scale."""
    value = Decimal(mantissa).scaleb(-scale, _EXACT)
    return value.copy_negate() if negative else value


def from_parts(negative: bool, mantissa: int, scale: int) -> Decimal:
    """Like ``make``, but a zero is never negative (the engine's constructor clears its sign;
    negation, truncation and float input do keep a negative zero)."""
    return make(negative and mantissa != 0, mantissa, scale)


def normalized(value: Decimal) -> Decimal:
    """The same value without trailing zeros after the point."""
    negative, mantissa, scale = parts(value)
    while scale > 0 and mantissa % 10 == 0:
        mantissa //= 10
        scale -= 1
    return make(negative, mantissa, scale)


def fits(value: Decimal) -> bool:
    """Whether a value is representable (mantissa of 96 bits, scale 0-28)."""
    _, mantissa, scale = parts(value)
    return 0 <= scale <= MAX_SCALE and mantissa <= MAX_MANTISSA


# -- literals and host values ----------------------------------------------------------------


def parse_literal(text: str) -> Decimal | None:
    """A number literal or numeric string (``1_000``, ``1.5e-3``, ``.5``); None if invalid.

    Underscores are ignored, the result keeps the written scale (``1.50`` has scale 2), and a
    value that does not fit 96 bits / 28 decimals is invalid.
    """
    body = text.replace("_", "")
    if not body or body.strip() != body:
        return None
    negative = body.startswith("-")
    if body[0] in "+-":
        body = body[1:]
    mantissa_text, _, exp_text = body.partition("e") if "e" in body else body.partition("E")
    if "e" in body or "E" in body:
        if not exp_text or not _is_int(exp_text):
            return None
        exponent = int(exp_text)
    else:
        exponent = 0
    whole, _, frac = mantissa_text.partition(".")
    if not (whole + frac).isdigit() or not (whole + frac).isascii():
        return None
    mantissa = int(whole + frac)
    scale = len(frac) - exponent
    if scale < 0:
        mantissa *= 10**-scale
        scale = 0
    if scale > MAX_SCALE or mantissa > MAX_MANTISSA:
        return None
    return from_parts(negative, mantissa, scale)


def _is_int(text: str) -> bool:
    digits = text[1:] if text[:1] in "+-" else text
    return digits.isdigit() and digits.isascii()


def from_int(value: int) -> Decimal:
    """A host int; the engine accepts the 64-bit signed and unsigned ranges only."""
    if not -(1 << 63) <= value <= (1 << 64) - 1:
        raise ZenEvaluationError(f"the integer {value} is outside the range the engine accepts")
    return Decimal(value)


def to_text(value: Decimal) -> str:
    """The engine's decimal text: all digits of the scale, never an exponent (``-0.0``)."""
    return format(value, "f")


# -- arithmetic -------------------------------------------------------------------------------


def negate(a: Decimal) -> Decimal:
    return a.copy_negate()


def add(a: Decimal, b: Decimal) -> Decimal:
    """a + b; ``0 + x`` is x itself and ``x + 0`` is x (their scale, not the larger one)."""
    if a.is_zero():
        return b
    if b.is_zero():
        return a
    return _fit_sum(_EXACT.add(a, b), "Add")


def subtract(a: Decimal, b: Decimal) -> Decimal:
    if a.is_zero():
        return b if b.is_zero() else b.copy_negate()
    if b.is_zero():
        return a
    return _fit_sum(_EXACT.subtract(a, b), "Subtract")


def _fit_sum(exact: Decimal, op: str) -> Decimal:
    negative, mantissa, scale = parts(exact)
    if mantissa <= MAX_MANTISSA:
        return exact
    # Drop the fewest digits that make it fit, rounding half to even once from the exact sum.
    for drop in range(1, scale + 1):
        quotient, remainder = divmod(mantissa, _POW10[drop])
        half = _POW10[drop] // 2
        if remainder > half or (remainder == half and quotient & 1):
            quotient += 1
        if quotient <= MAX_MANTISSA:
            return make(negative, quotient, scale - drop)
    raise NumberOverflow(f"Opcode {op}: Number overflow")


def multiply(a: Decimal, b: Decimal) -> Decimal:
    if a.is_zero() or b.is_zero():
        return ZERO
    na, ma, sa = parts(a)
    nb, mb, sb = parts(b)
    scale = sa + sb
    product = ma * mb
    negative = na != nb
    small = ma >> 32 == 0 and mb >> 32 == 0
    # The engine's 32-bit fast path clears the sign of a zero product; its wide path keeps it.
    build = from_parts if small else make
    if product <= MAX_MANTISSA and scale <= MAX_SCALE:
        return build(negative, product, scale)
    if small and scale > MAX_SCALE + 19:
        return ZERO
    rescaled = _rescale(product, scale)
    if rescaled is None:
        raise NumberOverflow("Opcode Multiply: Number overflow")
    return build(negative, rescaled[0], rescaled[1])


def _rescale(value: int, scale: int) -> tuple[int, int] | None:
    """Bring a wide product back to 96 bits and scale <= 28, as the engine does (its digit
    estimate may drop one digit more than strictly needed, so it is followed exactly)."""
    target = 0
    if value >> 96:
        top_bit = value.bit_length() - 1
        target = ((top_bit - 96) * 77 >> 8) + 1
        if target > scale:
            return None
    target = max(target, scale - MAX_SCALE)
    if target <= 0:
        return value, scale
    scale -= target
    sticky = 0
    remainder = 0
    while True:
        sticky |= remainder
        power = _POW10[9] if target > 8 else _POW10[target]
        value, remainder = divmod(value, power)
        if target > 9:
            target -= 9
            continue
        if value >> 96:
            if scale == 0:
                return None
            target = 1
            scale -= 1
            continue
        half = power >> 1
        if half <= remainder and (half < remainder or value & 1 or sticky):
            value += 1
            if value >> 96:
                if scale == 0:
                    return None
                sticky = 0
                remainder = 0
                target = 1
                scale -= 1
                continue
        return value, scale


def divide(a: Decimal, b: Decimal) -> Decimal | None:
    """a / b as the engine divides (None for division by zero or an overflowing quotient,
    which the engine turns into null). The quotient is extended in steps of up to nine digits
    while a remainder is left, rounded half to even at the end, then trailing zeros are
    removed in 8/4/2/1-digit steps that only apply when the low bits allow it -- hence
    ``1.0 / 4`` is ``0.250``."""
    if b.is_zero():
        return None
    if a.is_zero():
        return ZERO
    na, ma, sa = parts(a)
    nb, divisor, sb = parts(b)
    negative = na != nb
    scale = sa - sb
    quotient, remainder = divmod(ma, divisor)
    unscale = False
    while True:
        if remainder == 0:
            if scale >= 0:
                break
            power_scale = min(9, -scale)
        else:
            unscale = True
            if scale == MAX_SCALE:
                stop = True
            else:
                found = _find_scale(quotient, scale)
                if found is None:
                    return None
                power_scale = found
                stop = power_scale == 0
            if stop:
                twice = remainder * 2
                if twice > divisor or (twice == divisor and quotient & 1):
                    quotient += 1
                    if quotient > MAX_MANTISSA:
                        rescued = _unscale_from_overflow(quotient, scale, True)
                        if rescued is None:
                            return None
                        quotient, scale = rescued
                break
        scale += power_scale
        quotient *= _POW10[power_scale]
        if quotient > MAX_MANTISSA:
            return None
        scaled = remainder * _POW10[power_scale]
        extra, remainder = divmod(scaled, divisor)
        quotient += extra
        if quotient > MAX_MANTISSA:
            rescued = _unscale_from_overflow(quotient, scale, remainder != 0)
            if rescued is None:
                return None
            quotient, scale = rescued
            break
    if unscale:
        quotient, scale = _unscale(quotient, scale)
    return from_parts(negative, quotient, scale)


_POWER_OVERFLOW: Final = tuple(MAX_MANTISSA // 10**k for k in range(1, 9))


def _find_scale(quotient: int, scale: int) -> int | None:
    """How many digits (0-9) the quotient can be extended by without overflowing."""
    hi = quotient >> 64
    if hi > 429496729:
        return None if scale < 0 else 0
    if scale > MAX_SCALE - 9:
        x = MAX_SCALE - scale
        if hi < _POWER_OVERFLOW[x - 1] >> 64:
            return None if x + scale < 0 else x
    elif quotient <= MAX_MANTISSA // 10**9:
        return 9
    x = 8
    while x > 0 and quotient > _POWER_OVERFLOW[x - 1]:
        x -= 1
    return None if x + scale < 0 else x


def _unscale_from_overflow(value: int, scale: int, sticky: bool) -> tuple[int, int] | None:
    scale -= 1
    if scale < 0:
        return None
    quotient, remainder = divmod(value, 10)
    if remainder > 5 or (remainder == 5 and (sticky or quotient & 1)):
        quotient += 1
    return quotient, scale


def _unscale(value: int, scale: int) -> tuple[int, int]:
    while value & 0xFFFF_FFFF == 0 and scale >= 8 and value % 100_000_000 == 0:
        value //= 100_000_000
        scale -= 8
    if value & 0xF == 0 and scale >= 4 and value % 10_000 == 0:
        value //= 10_000
        scale -= 4
    if value & 0x3 == 0 and scale >= 2 and value % 100 == 0:
        value //= 100
        scale -= 2
    if value & 0x1 == 0 and scale >= 1 and value % 10 == 0:
        value //= 10
        scale -= 1
    return value, scale


def remainder(a: Decimal, b: Decimal) -> Decimal | None:
    """a % b with the sign of a (None when b is zero); a zero result is never negative, and a
    dividend smaller than the divisor comes back unchanged (with its own scale)."""
    if b.is_zero():
        return None
    if a.is_zero():
        return ZERO
    size, divisor = a.copy_abs(), b.copy_abs()
    if size == divisor:
        return ZERO
    if size < divisor:
        return a
    try:
        result = _EXACT.remainder(a, b)
        return result.copy_abs() if result.is_zero() else result
    except InvalidOperation as exc:  # pragma: no cover - 96-bit operands always fit
        raise NumberOverflow("Opcode Modulo: Number overflow") from exc


def rounded(value: Decimal, places: int, *, away_from_zero: bool) -> Decimal:
    """round(value, places): half away from zero; a value with fewer decimals is unchanged."""
    negative, mantissa, scale = parts(value)
    if scale <= places:
        return value
    if mantissa == 0:
        # A zero keeps its sign (a negative product too small for 28 places is ``-0``);
        # only a non-zero value rounded to zero comes out positive.
        return make(negative, 0, places)
    quotient, rest = divmod(mantissa, _POW10[scale - places])
    if away_from_zero and rest * 2 >= _POW10[scale - places]:
        quotient += 1
    if quotient == 0:
        return make(False, 0, places)
    return make(negative, quotient, places)


def truncated(value: Decimal, places: int) -> Decimal:
    """trunc(value, places): cut to ``places`` decimals, or extend the scale towards ``places``
    while the mantissa fits -- ``trunc(1.2, 3)`` is 1.200. Like the engine, this may go past
    28 decimals (``trunc(0.5, 30)`` has 29)."""
    negative, mantissa, scale = parts(value)
    if scale > places:
        return make(negative, mantissa // _POW10[scale - places], places)
    while scale < places and mantissa * 10 <= MAX_MANTISSA:
        mantissa *= 10
        scale += 1
    return make(negative, mantissa, scale)


def floor(value: Decimal) -> Decimal:
    negative, mantissa, scale = parts(value)
    whole, frac = divmod(mantissa, _POW10[scale])
    if frac == 0:
        return make(negative, whole, 0) if scale else value
    if negative:
        return subtract(make(True, whole, 0), ONE) if whole else make(True, 1, 0)
    return make(False, whole, 0)


def ceil(value: Decimal) -> Decimal:
    negative, mantissa, scale = parts(value)
    whole, frac = divmod(mantissa, _POW10[scale])
    if frac == 0:
        return make(negative, whole, 0) if scale else value
    if negative:
        return make(True, whole, 0)
    return make(False, whole + 1, 0)


def to_index(value: Decimal) -> int | None:
    """A number as an array/string index (truncated); None when negative (-0 included, as
    in the engine) or too large."""
    if value.is_signed():
        return None
    index = int(value)
    return index if index < 1 << 64 else None


def to_unsigned(value: Decimal, bits: int) -> int | None:
    """The whole part of a non-negative number below 2^bits; None otherwise (-0 included)."""
    if value.is_signed():
        return None
    whole = int(value)
    return whole if whole < 1 << bits else None


def to_i64(value: Decimal) -> int | None:
    index = int(value)
    return index if -(1 << 63) <= index < 1 << 63 else None
