"""GB 11643 ID numbers, GB 32100 credit codes and phone numbers."""

import datetime as dt

import pytest

from civicgrid.registry.idnumbers import (
    InvalidIdentifier,
    normalise_phone,
    parse_id_number,
    validate_credit_code,
)

TODAY = dt.date(2026, 11, 22)


def test_valid_id_number_gives_birth_date_and_gender():
    # The worked example of GB 11643-1999: the check character is X.
    assert parse_id_number("11010519491231002x", TODAY) == (
        "11010519491231002X",
        dt.date(1949, 12, 31),
        "female",
    )
    number, birth, gender = parse_id_number(" 510106 199001012471 ", TODAY)
    assert (number, birth, gender) == ("510106199001012471", dt.date(1990, 1, 1), "male")
    # Full-width digits typed with a Chinese input method are folded to ASCII.
    assert parse_id_number("５１０１０６１９９００１０１２４７１", TODAY)[0] == "510106199001012471"


def test_wrong_check_digit_is_refused():
    with pytest.raises(InvalidIdentifier, match="check digit"):
        parse_id_number("510106199001012472", TODAY)


@pytest.mark.parametrize(
    "value",
    [
        "510106199002300010",  # 30 February
        "510106187001010013",  # before 1880
        "510106202712310015",  # born after today
    ],
)
def test_impossible_birth_date_is_refused(value):
    with pytest.raises(InvalidIdentifier, match="impossible birth date"):
        parse_id_number(value, TODAY)


@pytest.mark.parametrize(
    "value", ["", "51010619900101247", "5101061990010124711", "51010619900101247Y"]
)
def test_malformed_id_number_is_refused(value):
    with pytest.raises(InvalidIdentifier, match="17 digits"):
        parse_id_number(value, TODAY)


def test_credit_code_check_character():
    assert validate_credit_code(" 91350100m000100y43") == "91350100M000100Y43"
    with pytest.raises(InvalidIdentifier, match="check character"):
        validate_credit_code("91350100M000100Y44")
    with pytest.raises(InvalidIdentifier, match="18 characters"):
        validate_credit_code("91350100I000100Y43")  # I is not in the alphabet


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("13812345678", "13812345678"),
        ("+86 138 1234 5678", "13812345678"),
        ("028-85123456", "028-85123456"),
        ("0755 8612 3456", "075586123456"),
        ("028-85123456-801", "028-85123456-801"),
        ("１３８１２３４５６７８", "13812345678"),
        ("（028）85123456", "02885123456"),
        ("", ""),
    ],
)
def test_phone_numbers_are_normalised(raw, expected):
    assert normalise_phone(raw) == expected


@pytest.mark.parametrize("raw", ["12345678901", "1381234567", "85123456", "call me"])
def test_bad_phone_numbers_are_refused(raw):
    with pytest.raises(InvalidIdentifier, match="11-digit mobile"):
        normalise_phone(raw)
