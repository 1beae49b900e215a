"""A digest is rendered once: the messages chosen when it is sealed are kept, and its copy composed right
after reads them instead of rendering again. They are kept by everything they are made of, so a copy whose
digest reads otherwise by then (an entry edited, a member erased) is made anew from what the store gives,
and the same copy reads the same whether or not anything was kept."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from bot.jobs import sets
from bot.jobs.sets import compose_digest
from bot.render import Renderer
from bot.store import outbox, people
from bot.store.db import Database
from tests.jobs.test_digest_commits import GROUP, NOW, a_set, due_digest


class CountingRenderer(Renderer):
    """A renderer that counts the digests it renders."""

    def __init__(self) -> None:
        super().__init__()
        self.digests = 0

    def message(self, language: str, template: str, /, **values: Any) -> str:
        self.digests += template == "digest"
        return super().message(language, template, **values)


async def sealed_copy(db: Database, render: Renderer, members: int = 3) -> tuple[outbox.OutboxRow, list[int]]:
    """Gives the group's copy of a digest just sealed the way the dispatcher seals it, and the member ids."""
    _, set_id, ids = await a_set(db, members=members, group=GROUP)
    row = await due_digest(db, set_id)
    expanded = await compose_digest(db, render, row, NOW)
    await outbox.mark(db, row.id, expanded.cancel_status, expanded.cancel_reason, expand=expanded.expand, now=NOW,
                      also=expanded.writes)
    copy_id = await db.scalar("SELECT id FROM outbox WHERE chat_id = ? AND kind = 'digest'", (GROUP,))
    copy = await outbox.get(db, int(copy_id))
    assert copy is not None
    return copy, ids


async def test_a_copy_of_a_digest_just_sealed_is_not_rendered_again(db: Database) -> None:
    render = CountingRenderer()
    copy, _ = await sealed_copy(db, render)
    assert render.digests == 1  # chosen and rendered at the seal
    composed = await compose_digest(db, render, copy, NOW + timedelta(seconds=1))
    assert render.digests == 1
    assert all(f"what member {n} shared" in "\n".join(composed.texts) for n in range(3))


async def test_a_copy_reads_the_same_whether_or_not_its_messages_were_kept(db: Database) -> None:
    render = CountingRenderer()
    copy, _ = await sealed_copy(db, render)
    kept = await compose_digest(db, render, copy, NOW + timedelta(seconds=1))
    sets._kept.clear()
    made = await compose_digest(db, render, copy, NOW + timedelta(seconds=1))
    assert render.digests == 2 and made.texts == kept.texts


async def test_an_entry_edited_after_the_seal_reads_as_edited_in_the_copy(db: Database) -> None:
    render = CountingRenderer()
    copy, ids = await sealed_copy(db, render)
    async with db.transaction() as conn:
        await conn.execute(
            "UPDATE reflection_part SET text = 'said otherwise' WHERE reflection_id IN"
            " (SELECT id FROM reflection WHERE person_id = ?)", (ids[1],),
        )
    text = "\n".join((await compose_digest(db, render, copy, NOW + timedelta(seconds=1))).texts)
    assert "said otherwise" in text and "what member 1 shared" not in text
    assert render.digests == 2


async def test_a_member_erased_after_the_seal_is_not_in_the_copy(db: Database) -> None:
    render = CountingRenderer()
    copy, ids = await sealed_copy(db, render)
    await people.erase_person(db, ids[2])
    text = "\n".join((await compose_digest(db, render, copy, NOW + timedelta(seconds=1))).texts)
    assert "what member 0 shared" in text and "Member 2" not in text and "what member 2 shared" not in text
