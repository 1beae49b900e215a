"""A participant's console: their own journal only, searched and filtered; an entry whole with its thread;
sharing after a confirmation and making private again, by the chat's rules; the learning question's
history and the pulse."""

from __future__ import annotations

from datetime import timedelta

from bot.store import deepening, journal, learning_question, pulse, sharing
from tests.factories import learning_set, module, programme
from tests.webapp.conftest import Site

ANNA, BOB, CLEO, FIONA = 4201, 4202, 4203, 4204
PROGRAMME = programme(
    key="cpm",
    modules=[module("m1", "The Challenges", "2027-03-01", "2027-04-30"),
             module("m2", "The Person", "2027-05-01", "2027-06-30")],
    sets=[learning_set("set-a", "Set A")],
)


async def cast(site: Site) -> dict[str, int]:
    await site.load(PROGRAMME)
    anna = await site.participant(ANNA, "Anna", "cpm", "set-a")
    bob = await site.participant(BOB, "Bob", "cpm", "set-a")
    await site.facilitator(FIONA, "Fiona", "cpm")
    ids = {
        "anna1": await site.reflect(anna, "Asked my team what slows them down before deciding.", "cpm", "m1", "relational"),
        "anna2": await site.reflect(anna, "The budget talk with Finance went sideways.", "cpm", "m2", "cross-boundary"),
        "anna3": await site.reflect(anna, "Écouter d'abord: I kept quiet in the MT and it helped.", "cpm", "m2", "intervention"),
        "bob1": await site.reflect(bob, "Bob's secret worry about the reorganisation.", "cpm", "m1", "relational"),
    }
    step = await deepening.ask(site.db, ids["anna2"], anna.id, 1, "looking_back", site.clock.now())
    assert step is not None
    await deepening.answer(site.db, step.id, anna.id, "I wanted Finance on board; I pushed instead.", ANNA, 900,
                           site.clock.now(), None)
    return ids


async def test_the_journal_shows_only_the_viewers_own_entries_newest_first(site: Site) -> None:
    await cast(site)
    page = await site.get("/api/view/journal", as_user=ANNA)
    assert page.status == 200
    assert page.text.index("Écouter d&#39;abord") < page.text.index("budget talk") < page.text.index("Asked my team")
    assert "3 reflections" in page.text and "Bob" not in page.text and "reorganisation" not in page.text
    assert "Went deeper" in page.text  # the thread is marked in the list


async def test_search_and_filters_narrow_the_journal(site: Site) -> None:
    ids = await cast(site)

    async def found(query: str) -> set[int]:
        page = await site.get(f"/api/view/journal?{query}", as_user=ANNA)
        assert page.status == 200
        return {i for name, i in ids.items() if f'data-entry="{i}"' in page.text}

    assert await found("q=team") == {ids["anna1"]}
    assert await found("q=ÉCOUTER") == {ids["anna3"]}  # whatever the case, accents and all
    assert await found("q=pushed+instead") == {ids["anna2"]}  # words from the going-deeper thread
    assert await found("q=reorganisation") == set()  # Bob's words are never searched for Anna
    assert await found("module=m2") == {ids["anna2"], ids["anna3"]}
    assert await found("capacity=relational") == {ids["anna1"]}
    assert await found("module=m2&capacity=intervention") == {ids["anna3"]}
    await sharing.set_visibility(site.db, ids["anna1"], (await site.db.scalar(
        "SELECT id FROM person WHERE telegram_id = ?", (ANNA,))), "shared",
        await site.db.scalar("SELECT id FROM learning_set"), site.clock.now())
    assert await found("visibility=shared") == {ids["anna1"]}
    assert await found("visibility=private") == {ids["anna2"], ids["anna3"]}
    assert await found("capacity=nonsense&visibility=<script>") == {ids["anna1"], ids["anna2"], ids["anna3"]}


async def test_an_entry_opens_whole_with_its_thread_and_another_persons_is_not_found(site: Site) -> None:
    ids = await cast(site)
    entry = await site.get(f"/api/view/entry?id={ids['anna2']}", as_user=ANNA)
    assert entry.status == 200 and "budget talk" in entry.text and "I wanted Finance on board" in entry.text
    assert "What happened, and what you wanted" in entry.text and "The Person" in entry.text
    for forged in (str(ids["bob1"]), "999", "abc", "-1"):
        refused = await site.get(f"/api/view/entry?id={forged}", as_user=ANNA)
        assert refused.status == 404 and "reorganisation" not in refused.text
    bob_tries = await site.post("/api/share", {"entry": ids["anna1"], "choice": "shared", "confirmed": "yes"}, as_user=BOB)
    assert bob_tries.status == 404
    assert (await journal.get(site.db, ids["anna1"])).visibility == "private"  # type: ignore[union-attr]


async def test_sharing_asks_first_then_shares_and_can_be_undone_until_the_digest(site: Site) -> None:
    ids = await cast(site)
    entry_id = ids["anna1"]
    asked = await site.post("/api/share", {"entry": entry_id, "choice": "shared"}, as_user=ANNA)
    assert asked.status == 200 and "Share this reflection with your learning set?" in asked.text
    assert 'name="confirmed" value="yes"' in asked.text
    assert (await journal.get(site.db, entry_id)).visibility == "private"  # type: ignore[union-attr]

    shared = await site.post("/api/share", {"entry": entry_id, "choice": "shared", "confirmed": "yes"}, as_user=ANNA)
    assert shared.status == 200 and "Shared with your learning set." in shared.text and "Make private again" in shared.text
    stored = await journal.get(site.db, entry_id)
    assert stored is not None and stored.visibility == "shared" and stored.shared_set_id is not None

    private = await site.post("/api/share", {"entry": entry_id, "choice": "private"}, as_user=ANNA)
    assert private.status == 200 and "Private again" in private.text
    assert (await journal.get(site.db, entry_id)).visibility == "private"  # type: ignore[union-attr]

    too_long = await site.post("/api/share", {"entry": entry_id, "choice": "takeaway", "takeaway": "x" * 281}, as_user=ANNA)
    assert too_long.status == 422 and "281 characters" in too_long.text
    line = await site.post("/api/share", {"entry": entry_id, "choice": "takeaway", "takeaway": "  Ask   first. "},
                           as_user=ANNA)
    assert line.status == 200 and "Ask first." in line.text and "as your takeaway" in line.text
    await site.post("/api/share", {"entry": entry_id, "choice": "takeaway", "takeaway": "Ask first.", "confirmed": "yes"},
                    as_user=ANNA)
    stored = await journal.get(site.db, entry_id)
    assert stored is not None and stored.visibility == "takeaway" and stored.takeaway == "Ask first."

    # The digest carries it: from then on it stays as it was.
    set_id = stored.shared_set_id
    assert set_id is not None
    site.clock.advance(timedelta(minutes=1))
    async with site.db.transaction() as conn:
        digest_id = await sharing.ensure_digest(conn, set_id, "test", site.clock.now(), None, "", site.clock.now())
    assert await sharing.seal_digest(site.db, digest_id, set_id, site.clock.now())
    gone = await site.post("/api/share", {"entry": entry_id, "choice": "private"}, as_user=ANNA)
    assert gone.status == 409 and "already gone out" in gone.text
    page = await site.get(f"/api/view/entry?id={entry_id}", as_user=ANNA)
    assert "can no longer be made private" in page.text and "Make private again" not in page.text
    assert (await journal.get(site.db, entry_id)).visibility == "takeaway"  # type: ignore[union-attr]


async def test_someone_without_a_set_cannot_share_and_a_facilitator_has_no_journal(site: Site) -> None:
    await cast(site)
    cleo = await site.participant(CLEO, "Cleo", "cpm")
    entry_id = await site.reflect(cleo, "Alone for now.", "cpm")
    page = await site.get(f"/api/view/entry?id={entry_id}", as_user=CLEO)
    assert "nobody to share it with yet" in page.text and "Share with my set" not in page.text
    refused = await site.post("/api/share", {"entry": entry_id, "choice": "shared", "confirmed": "yes"}, as_user=CLEO)
    assert refused.status == 409
    assert (await site.get("/api/view/journal", as_user=FIONA)).status == 403
    assert (await site.post("/api/share", {"entry": entry_id, "choice": "private"}, as_user=FIONA)).status == 403


async def test_the_learning_question_history_and_the_pulse_are_the_viewers_own(site: Site) -> None:
    await cast(site)
    anna_id = await site.db.scalar("SELECT id FROM person WHERE telegram_id = ?", (ANNA,))
    programme_id = site.programme_ids["cpm"]
    empty = await site.get("/api/view/pulse", as_user=ANNA)
    assert empty.status == 200 and "not answered a pulse yet" in empty.text
    await learning_question.add_version(site.db, anna_id, programme_id, "How do I lead without deciding everything?",
                                        ANNA, 1001, site.clock.now())
    site.clock.advance(timedelta(days=3))
    await learning_question.add_version(site.db, anna_id, programme_id, "How do I let my team decide more?",
                                        ANNA, 1002, site.clock.now())
    page = await site.get("/api/view/question", as_user=ANNA)
    assert page.text.index("let my team decide") < page.text.index("without deciding everything")
    assert "Now" in page.text and "Earlier" in page.text and "private" in page.text
    assert "let my team decide" not in (await site.get("/api/view/question", as_user=BOB)).text
    for capacity, score in (("cognitive", 2), ("relational", 3)):
        await pulse.record(site.db, anna_id, programme_id, None, "m1", "start", capacity, score, site.clock.now())
    await pulse.record(site.db, anna_id, programme_id, None, "m1", "end", "cognitive", 4, site.clock.now())
    shown = await site.get("/api/view/pulse", as_user=ANNA)
    assert shown.status == 200 and "from 2 to 4" in shown.text and 'src="data:image/png;base64,' in shown.text
    assert "not answered a pulse yet" in (await site.get("/api/view/pulse", as_user=BOB)).text
