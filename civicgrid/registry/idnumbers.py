"""Check digits of Chinese identifiers: the resident ID number (GB 11643-1999) and the
unified social credit code of organisations (GB 32100-2015)."""

from __future__ import annotations

import datetime as dt
import re

ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
ID_CHECK = "10X98765432"
ID_PATTERN = re.compile(r"^\d{17}[\dX]$")


class InvalidIdentifier(ValueError):
    pass


def id_check_digit(first17: str) -> str:
    return ID_CHECK[sum(int(c) * w for c, w in zip(first17, ID_WEIGHTS, strict=True)) % 11]


def parse_id_number(value: str) -> tuple[str, dt.date, str]:
    """Validate an 18-digit ID number; return (normalised value, birth date, gender).

    Raises InvalidIdentifier with a reason a clerk can act on.
    """
    text = (value or "").strip().upper().replace(" ", "")
    if not ID_PATTERN.match(text):
        raise InvalidIdentifier("ID number must be 17 digits followed by a digit or X.")
    try:
        birth = dt.date(int(text[6:10]), int(text[10:12]), int(text[12:14]))
    except ValueError:
        raise InvalidIdentifier("ID number contains an impossible birth date.") from None
    if birth.year < 1880 or birth > dt.date.today():
        raise InvalidIdentifier("ID number contains an impossible birth date.")
    if id_check_digit(text[:17]) != text[17]:
        raise InvalidIdentifier("ID number check digit is wrong (GB 11643).")
    gender = "male" if int(text[16]) % 2 == 1 else "female"
    return text, birth, gender


def make_id_number(region: str, birth: dt.date, sequence: int, gender: str) -> str:
    """Build a valid ID number (for demo data and tests): region(6) + birth(8) + seq(3) + check."""
    seq = (sequence % 500) * 2 + (1 if gender == "male" else 0)
    first17 = f"{region[:6]:0<6}{birth:%Y%m%d}{seq:03d}"
    return first17 + id_check_digit(first17)


CREDIT_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY"
CREDIT_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
CREDIT_PATTERN = re.compile(rf"^[{CREDIT_CHARS}]{{18}}$")


def credit_check_char(first17: str) -> str:
    total = sum(CREDIT_CHARS.index(c) * w for c, w in zip(first17, CREDIT_WEIGHTS, strict=True))
    return CREDIT_CHARS[(31 - total % 31) % 31]


def validate_credit_code(value: str) -> str:
    """Validate a unified social credit code; return it normalised (upper case)."""
    text = (value or "").strip().upper()
    if not CREDIT_PATTERN.match(text):
        raise InvalidIdentifier(
            "Unified social credit code must be 18 characters of digits and capital letters "
            "(no I, O, S, V, Z)."
        )
    if credit_check_char(text[:17]) != text[17]:
        raise InvalidIdentifier("Unified social credit code check character is wrong (GB 32100).")
    return text


def make_credit_code(body17: str) -> str:
    return body17 + credit_check_char(body17)
