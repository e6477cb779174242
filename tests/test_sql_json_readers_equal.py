"""json_numeric and json_time read VALR's common shapes without a regular expression (figure 2's CPU,
docs/performance.md); on any input they must answer exactly as the regular-expression readers did. The
readers as they were, below, run beside the current ones on generated inputs: digits, signs, points,
exponents, spaces and garbage around VALR's shapes, JSON numbers, nulls, objects."""

from __future__ import annotations

from random import Random

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from psycopg.types.json import Jsonb

from tests.support.sql import rows

# The readers before the fast paths (db/functions/00_support/, 2026-12-07), as session-local functions.
READERS_BEFORE = r"""
CREATE FUNCTION pg_temp.json_numeric_before(p_value jsonb) RETURNS numeric
LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
    v_text text;
BEGIN
    IF jsonb_typeof(p_value) = 'number' THEN
        RETURN (p_value #>> '{}')::numeric;
    END IF;
    IF jsonb_typeof(p_value) = 'string' THEN
        v_text := btrim(p_value #>> '{}');
        IF v_text ~ '^[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]{1,3})?$' AND length(v_text) <= 100 THEN
            RETURN v_text::numeric;
        END IF;
    END IF;
    RETURN NULL;
END
$$;
CREATE FUNCTION pg_temp.json_time_before(p_value jsonb) RETURNS timestamptz
LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
    v_text text;
    v_zone text[];
BEGIN
    IF jsonb_typeof(p_value) = 'number' THEN
        IF (p_value #>> '{}')::numeric BETWEEN 1e12 AND 1e13 THEN
            RETURN to_timestamp((p_value #>> '{}')::numeric / 1000);
        END IF;
        RETURN NULL;
    END IF;
    IF jsonb_typeof(p_value) <> 'string' THEN
        RETURN NULL;
    END IF;
    v_text := p_value #>> '{}';
    IF v_text ~ '^[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|1[0-9]|2[0-8])T([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](\.[0-9]{1,9})?Z$'
       AND left(v_text, 4) <> '0000' THEN
        RETURN v_text::timestamptz;
    END IF;
    v_zone := regexp_match(v_text,
        '^[0-9]{4}-[0-9]{2}-[0-9]{2}(?:[T ][0-9]{2}:[0-9]{2}(?::[0-9]{2}(?:\.[0-9]{1,9})?)?)?(Z|[+-][0-9]{2}(?::?[0-9]{2})?)?$');
    IF v_zone IS NULL THEN
        RETURN NULL;
    END IF;
    BEGIN
        IF v_zone[1] IS NULL THEN
            RETURN v_text::timestamp AT TIME ZONE 'UTC';
        END IF;
        RETURN v_text::timestamptz;
    EXCEPTION WHEN datetime_field_overflow OR invalid_datetime_format OR data_exception THEN
        RETURN NULL;
    END;
END
$$;
"""

# Characters the fast paths' checks tell apart from digits.
GARBAGE = list(".+-eE :TZz/x\u0661\u00a0") + ["0", "9"]
DIGITS = "0123456789"
others = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) \
    | st.integers(10**11, 10**14) | st.dictionaries(st.text(max_size=3), st.integers(), max_size=2) \
    | st.lists(st.integers(), max_size=2) | st.text(st.sampled_from(GARBAGE), max_size=26)


def mutated(r: Random, text: str) -> str:
    """`text` with up to two characters changed, dropped or added anywhere."""
    for _ in range(r.choice([0, 0, 1, 2])):
        at = r.randint(0, len(text))
        text = text[:at] + r.choice(["", *GARBAGE]) + text[at + r.randint(0, 1):]
    return text


def time_text(r: Random) -> str:
    """VALR's timestamp shape, each field drawn across its range's edges, the fraction 0-11 digits."""
    two = lambda top: f"{r.randint(0, top):02d}"  # noqa: E731
    year = r.choice([0, 1, 2024, 2025, 9999, r.randint(0, 9999)])
    text = (f"{year:04d}-{two(19)}-{two(39)}T{two(29)}:{two(69)}:{two(69)}"
            + r.choice(["", ".", "."]) + "".join(r.choices(DIGITS, k=r.randint(0, 11)))
            + r.choice(["Z", "Z", "Z", "Z", "", "z", "+02:00", "-0130", "ZZ", "Z "]))
    return mutated(r, text)


def number_text(r: Random) -> str:
    """Signs, digits, a point, an exponent and spaces, in VALR's order or not."""
    digits = lambda: "".join(r.choices(DIGITS, k=r.randint(0, 5)))  # noqa: E731
    text = (r.choice(["", "", "+", "-"]) + digits() + r.choice(["", ".", "."]) + digits()
            + r.choice(["", "", "e", "E-", "e+"]) + r.choice(["", "", "1", "999", "1000"]))
    return mutated(r, r.choice(["", "", " "]) + text + r.choice(["", "", " "]))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seed=st.integers(0, 2**32), odd=st.lists(others, max_size=20))
def test_the_readers_answer_as_the_regular_expressions_did(postgresql, seed, odd):
    r = Random(seed)  # 300 strings of each shape an example (hypothesis' own draws would be too many)
    postgresql.rollback()  # each example on its own (a raising reader aborts the transaction)
    postgresql.execute(READERS_BEFORE)
    differ = rows(postgresql, """
        SELECT 'numeric' AS reader, v::text FROM unnest(%s::jsonb[]) v
         WHERE lth_pvr.json_numeric(v) IS DISTINCT FROM pg_temp.json_numeric_before(v)
            OR lth_pvr.json_numeric(v)::text IS DISTINCT FROM pg_temp.json_numeric_before(v)::text
        UNION ALL
        SELECT 'time', v::text FROM unnest(%s::jsonb[]) v
         WHERE lth_pvr.json_time(v) IS DISTINCT FROM pg_temp.json_time_before(v)""",
                  ([Jsonb(number_text(r)) for _ in range(300)] + [Jsonb(v) for v in odd],
                   [Jsonb(time_text(r)) for _ in range(300)] + [Jsonb(v) for v in odd]))
    assert differ == []


def test_valrs_shapes_and_the_edges_of_the_fast_paths_read_as_before(postgresql):
    """Named inputs on both sides of each fast path's edge, whatever the generator draws."""
    postgresql.execute(READERS_BEFORE)
    shapes = ['"0.0001"', '"1149500"', '"5."', '".5"', '"."', '""', '" 12 "', '"1.2.3"', '"-2"',
              '"2025-10-28T10:04:40.566Z"', '"2025-10-28T10:04:40Z"', '"2025-10-28T10:04:40.123456789Z"',
              '"2025-10-28T10:04:40.1234567890Z"', '"2025-10-29T10:04:40.566Z"', '"0000-10-28T10:04:40Z"',
              '"2025-00-28T10:04:40Z"', '"2025-10-28T24:04:40Z"', '"2025-10-28T10:60:40Z"',
              '"2025-10-28T10:04:60Z"', '"2025-10-28 10:04:40Z"', '"2025-10-28T10:04:40.Z"',
              '"2025-02-30T10:00:00Z"', '"2025-04-31T10:00:00Z"', '"2024-02-29T10:00:00Z"', '1761645880566']
    differ = rows(postgresql, """
        SELECT v::text FROM unnest(%s::jsonb[]) v
         WHERE lth_pvr.json_numeric(v)::text IS DISTINCT FROM pg_temp.json_numeric_before(v)::text
            OR lth_pvr.json_time(v) IS DISTINCT FROM pg_temp.json_time_before(v)""", (shapes,))
    assert differ == []
