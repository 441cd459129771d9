"""PostgreSQL's binary COPY form of cost records (RAT-1): what the server reads back is the value sent."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from nuage.storage.sql.billing.rated_binary import HEADER, TRAILER, instant_field, numeric_field, text_field

NUMBERS = [
    "0", "0E-12", "0.000001", "1", "12.5", "60", "10000", "0.0001", "123456789012.345678901234",
    "-3.25", "-0.000000000001", "99999999999999.9999", "0.333333333333", "1E+8", "20000.00010000",
]  # fmt: skip
INSTANTS = [
    datetime(2026, 1, 31, 23, 59, 59, 999999, tzinfo=UTC),
    datetime(2000, 1, 1, tzinfo=UTC),
    datetime(1999, 12, 31, 23, 59, 59, 1, tzinfo=UTC),  # before PostgreSQL's epoch: negative
    datetime(2026, 3, 29, 1, 30, 0, 120000, tzinfo=UTC),
]


@pytest.mark.postgres
@pytest.mark.rule("RAT-1")
def test_numbers_instants_and_texts_sent_in_binary_are_read_back_as_they_were(postgres_url: str) -> None:
    import psycopg

    rows = b"".join(
        (2).to_bytes(2, "big") + numeric_field(Decimal(number)) + text_field(f"n{index}\té\\\n")
        for index, number in enumerate(NUMBERS)
    )
    instants = b"".join((1).to_bytes(2, "big") + instant_field(at) for at in INSTANTS)
    with psycopg.connect(postgres_url) as connection:
        connection.execute("CREATE TEMP TABLE numbers (value numeric, label text)")
        connection.execute("CREATE TEMP TABLE instants (at timestamptz)")
        with connection.cursor() as cursor:
            with cursor.copy("COPY numbers FROM STDIN (FORMAT binary)") as copy:
                copy.write(HEADER + rows + TRAILER)
            with cursor.copy("COPY instants FROM STDIN (FORMAT binary)") as copy:
                copy.write(HEADER + instants + TRAILER)
            read = cursor.execute("SELECT value::text, label FROM numbers ORDER BY label").fetchall()
            ats = [at for (at,) in cursor.execute("SELECT at FROM instants").fetchall()]
    by_label = {label: Decimal(value) for value, label in read}
    for index, number in enumerate(NUMBERS):
        value = by_label[f"n{index}\té\\\n"]
        assert value == Decimal(number), (number, value)
        decimals = min(0, Decimal(number).as_tuple().exponent)
        assert value.as_tuple().exponent == decimals, number  # the decimals sent are kept
    assert ats == INSTANTS
