"""Going deeper into a reflection: which of Korthagen's ALACT steps to ask, and in what order.

Pure: what is known of the reflection is passed in.

Korthagen's cycle runs Action → Looking back → Awareness of essential aspects → Creating
alternatives → Trial (the next action). The reflection is the first look back; going deeper asks at
most three short questions after it, one per step, so that it stays a minute's work on a phone:

- *looking_back*: what exactly happened, and what did you want (interpreting an event: "duiden");
- *essential*: what was essential in it, for you and for the other;
- *alternatives*: which other ways of seeing it, or of acting, do you see ("de duiding oprekken");
- *trial*: what will you try, precisely (practising with precision); it becomes an intention that
  the bot follows up.

Four steps, three questions: one step is left out, and which depends on what the reflection already is.
"""

from __future__ import annotations

from typing import Literal

StepPhase = Literal["looking_back", "essential", "alternatives", "trial"]
PHASES: tuple[StepPhase, ...] = ("looking_back", "essential", "alternatives", "trial")
MAX_QUESTIONS = 3

# The reflection answered a follow-up ("what happened when you tried it?") or an intention prompt ("what
# will you try?"): the looking back is done already, or there is nothing yet to look back on. Asking it
# again would feel like the same question twice; the three questions left make one whole turn from
# awareness through alternatives to a sharper trial.
AFTER_LOOKING_BACK: tuple[StepPhase, ...] = ("essential", "alternatives", "trial")
# Any other reflection (a prompt about an experience or a thought, or words of one's own) is usually a
# first, general account. Making it concrete (what exactly happened, what did you want) is what lets the
# awareness step find what was essential rather than stay general, so looking back stays. Creating
# alternatives is the step that goes: the trial question itself asks for something other than one's usual
# way, which keeps the stretching without a fourth question.
FROM_EXPERIENCE: tuple[StepPhase, ...] = ("looking_back", "essential", "trial")


def route(follows_up: bool, intention: bool) -> tuple[StepPhase, ...]:
    """Gives the (at most three) steps to ask after a reflection, in order."""
    return AFTER_LOOKING_BACK if follows_up or intention else FROM_EXPERIENCE


def next_phase(steps: tuple[StepPhase, ...], answered: int) -> StepPhase | None:
    """Gives the step to ask after `answered` answers, or None when the thread is complete."""
    return steps[answered] if 0 <= answered < len(steps) else None
