"""Which prompt a participant gets: fitting the phase, deterministic, no repeats within a module.

Pure: the library, the position and what was already used are passed in.
"""

from __future__ import annotations

import hashlib
from collections.abc import Collection, Sequence
from typing import Protocol, TypeVar

from bot.domain.programme import FocusQuestion, Phase

# Outside the programme's events the nearest fitting phase is used.
PHASE_FOR_PROMPTS = {
    Phase.BEFORE_START: "preparing",
    Phase.PREPARING: "preparing",
    Phase.AT_EVENT: "at_event",
    Phase.JUST_AFTER: "just_after",
    Phase.BETWEEN: "between",
    Phase.BEFORE_MEETING: "before_meeting",
    Phase.FINISHED: "between",
}


class PromptLike(Protocol):
    """What choice needs of a library prompt (read-only, so that a frozen dataclass fits)."""

    @property
    def key(self) -> str: ...
    @property
    def phases(self) -> tuple[str, ...]: ...
    @property
    def capacity(self) -> str: ...
    @property
    def modules(self) -> tuple[str, ...]: ...


P = TypeVar("P", bound=PromptLike)


def _rank(seed: str, key: str) -> str:
    return hashlib.sha256(f"{seed}|{key}".encode()).hexdigest()


def choose_prompt(
    library: Sequence[P],
    phase: Phase,
    module_key: str,
    focus: Collection[str],
    used: Collection[str],
    seed: str,
    learning_question: bool = True,
) -> P | None:
    """Gives the prompt for a participant and day, or None for an empty library.

    Candidates fit the phase and the module. Prompts already used in this module are left out
    while others remain; the module's capacity focus is preferred, and so are the facilitator's own
    focus questions of the module (a FocusQuestion in `library`): written for this module, they are on
    its focus whether or not they name a capacity. Among equals, a hash of the seed (participant and
    day) decides, so the same day gives the same prompt. A prompt that quotes
    the learning question (tagged `question`) is only for someone who has one (`learning_question`).
    """
    if not learning_question:
        library = [p for p in library if not getattr(p, "question", False)]
    wanted = PHASE_FOR_PROMPTS[phase]
    fitting = [p for p in library if wanted in p.phases and (not p.modules or module_key in p.modules)]
    if not fitting:
        fitting = [p for p in library if not p.modules or module_key in p.modules]
    if not fitting:
        return None
    fresh = [p for p in fitting if p.key not in used]
    if not fresh:
        # Everything fitting was used in this module: start over, still avoiding the last ones.
        fresh = fitting
    focused = [p for p in fresh if p.capacity in focus or isinstance(p, FocusQuestion)]
    pool = focused or fresh
    return min(pool, key=lambda p: _rank(seed, p.key))
