"""Partners' consents: three separate agreements, each asked on its own, each recorded with
the time and the exact wording the person saw.

- ``contact``: we may contact them, the way they chose, about ways to get involved;
- ``matching``: we may use their answers (experience, access needs, availability) to
  suggest opportunities and rank their interest;
- ``equality``: we may ask and keep equality monitoring answers, used only to check the
  community is fair and only ever published as rounded, suppressed counts.

This follows the UK GDPR's conditions for consent (Article 7, recital 32 and 43: separate
consent for separate purposes, as easy to withdraw as to give, and a record of what was
agreed to) and the ICO's guidance on consent. Wording changes get a new version; a record
always names the version.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class Wording:
    purpose: str
    version: str
    question: str
    text: str
    withdraw_effect: str


WORDINGS: dict[str, Wording] = {
    w.purpose: w for w in [
        Wording("contact", "contact-2026-01",
                "Can we contact you about ways to get involved?",
                "We will contact you the way you chose, about opportunities to help improve "
                "health and care services. We will not pass your details to anyone else. "
                "You can change your mind at any time.",
                "We will stop contacting you. You can still sign in and see opportunities."),
        Wording("matching", "matching-2026-01",
                "Can we use your answers to suggest things that suit you?",
                "We will use what you told us about your experience, what you need to take "
                "part and when you are free, to suggest opportunities and to show the "
                "involvement team how well each one suits you. Only the involvement team "
                "sees this. You can change your mind at any time.",
                "We will stop using your answers to suggest opportunities. If you say you "
                "are interested in something, the team will see that you are interested, "
                "but not how well it suits you."),
        Wording("equality", "equality-2026-01",
                "Would you like to answer some questions about yourself?",
                "We will ask about your age, sex, ethnic group, disability, caring and the "
                "area you live in. We use the answers only to check that our community "
                "includes all kinds of people, and to choose fair panels. We only ever "
                "share them as rounded numbers that cannot identify you. Every question "
                "has 'Prefer not to say'. You can change your mind at any time.",
                "We will delete your answers to these questions."),
    ]
}
PURPOSES = tuple(WORDINGS)
QUESTION_KEYS = {"contact": "consent_contact", "matching": "consent_matching",
                 "equality": "consent_equality"}


@dataclass(frozen=True)
class ConsentEvent:
    """One recorded answer: given or refused (or withdrawn), to which wording, when."""

    purpose: str
    given: bool
    wording_version: str
    at: dt.datetime


def current(events: Iterable[ConsentEvent]) -> dict[str, ConsentEvent | None]:
    """The latest answer for each purpose (None where never asked)."""
    latest: dict[str, ConsentEvent | None] = dict.fromkeys(PURPOSES)
    for event in sorted(events, key=lambda e: e.at):
        if event.purpose in latest:
            latest[event.purpose] = event
    return latest


def is_given(events: Iterable[ConsentEvent], purpose: str) -> bool:
    """True only if the latest answer for ``purpose`` is yes."""
    event = current(events).get(purpose)
    return bool(event and event.given)
