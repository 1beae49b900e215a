"""One timestamp codec: what the store writes, and every form it wrote before, read as the same moment."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

from bot.store import codec, outbox, people
from bot.store.db import open_database

MOMENT = datetime(2026, 11, 25, 6, 0, tzinfo=UTC)
# The two forms the store wrote before one codec: the outbox's (fixed width) and the person's,
# invite's and programme's (Python's isoformat(), shorter when the microseconds are zero).
FIXED_WIDTH = "2026-11-25T06:00:00.000000+00:00"
SHORT = "2026-11-25T06:00:00+00:00"


def test_both_old_forms_decode_to_the_same_moment() -> None:
    assert codec.decode(FIXED_WIDTH) == codec.decode(SHORT) == MOMENT
    assert codec.decode(None) is None


def test_the_codec_writes_the_outbox_form_for_any_zone() -> None:
    amsterdam = MOMENT.astimezone(timezone(timedelta(hours=1)))
    assert codec.encode(amsterdam) == codec.encode(MOMENT) == FIXED_WIDTH == outbox.ts(MOMENT)
    assert codec.decode(codec.encode(MOMENT + timedelta(microseconds=7))) == MOMENT + timedelta(microseconds=7)


def test_text_order_is_time_order() -> None:
    """The SQL compares stored text with `<=`: every encoded moment has one width."""
    moments = [MOMENT + timedelta(microseconds=m) for m in (0, 1, 999_999, 1_000_000, 86_400_000_000)]
    texts = [codec.encode(m) for m in moments]
    assert len({len(t) for t in texts}) == 1
    assert sorted(texts) == texts


async def test_a_person_stored_in_the_short_form_reads_the_same(tmp_path: Path) -> None:
    db = await open_database(tmp_path / "pitstop.db")
    try:
        async with db.transaction() as conn:
            await conn.execute(
                "INSERT INTO person (telegram_id, chat_id, name, language, timezone, status, paused_until,"
                " created_at, updated_at) VALUES (1, 1, 'Old', 'en', 'UTC', 'active', ?, ?, ?)",
                (SHORT, SHORT, SHORT),
            )
        old = await people.get_person_by_telegram(db, 1)
        assert old is not None and old.created_at == MOMENT and old.paused_until == MOMENT
        new = await people.update_person(db, old.id, MOMENT, paused_until=MOMENT)
        assert new.paused_until == MOMENT
        assert await db.scalar("SELECT paused_until FROM person WHERE id = ?", (old.id,)) == FIXED_WIDTH
    finally:
        await db.close()
