"""Masking of personal data for lists, search results and exports."""

from __future__ import annotations


def mask_id_number(value: str | None) -> str:
    """`510106199001011234` -> `5101**********1234` (first 4 and last 4 kept)."""
    if not value:
        return ""
    if len(value) <= 8:
        return "*" * len(value)
    return value[:4] + "*" * (len(value) - 8) + value[-4:]


def mask_phone(value: str | None) -> str:
    """`13812345678` -> `138****5678`; other lengths keep the first 3 and last 4 characters."""
    if not value:
        return ""
    if len(value) <= 7:
        return value[:1] + "*" * (len(value) - 1)
    return value[:3] + "*" * (len(value) - 7) + value[-4:]


def mask_name(value: str | None) -> str:
    """`张三丰` -> `张**`: the surname stays so staff can still talk to the person."""
    if not value:
        return ""
    return value[0] + "*" * (len(value) - 1)
