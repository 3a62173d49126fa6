"""Free text that staff type into a record that can never be changed (the audit log).

A void or exclusion reason is kept for good; if it holds an NHS number or a patient's name,
the audit log becomes patient data that no one can correct or erase. These pure helpers find
identifier-shaped text; the service asks the database whether words are a patient's name.
"""

from __future__ import annotations

import re

from recall.domain.nhs import ascii_digits, mask_nhs_number

# Ten digits, optionally split by spaces, dots or dashes (943 476 5919, 943-476-5919).
_NHS_SHAPED = re.compile(r"(?<!\d)\d(?:[ \-.\u00a0]?\d){9}(?!\d)")
_WORD = re.compile(r"[^\W\d_]+(?:['’\-][^\W\d_]+)*")
TITLES = frozenset({"mr", "mrs", "ms", "miss", "mx", "dr", "prof", "sir", "dame", "rev"})
MAX_WORDS = 200
MAX_GRAM = 3  # names of up to three words ("Van der Berg")


def nhs_shaped(text: str) -> bool:
    """True if `text` holds ten digits in a row, with or without spaces or dashes."""
    return bool(_NHS_SHAPED.search(ascii_digits(text)))


def mask_nhs_shaped(text: str) -> str:
    """NHS-number-shaped runs shown as `*** *** 5919`: for file names kept in the log."""
    return _NHS_SHAPED.sub(
        lambda m: mask_nhs_number(re.sub(r"\D", "", m.group())), ascii_digits(text)
    )


def name_candidates(text: str) -> tuple[set[str], set[str]]:
    """(every word and run of up to three words, lower-cased; words that follow a title).

    A patient's name is "mentioned" when both their given and family name are among the
    first set, or their family name follows a title (Mrs Patel); a family name alone is too
    often an ordinary word (Day, May, Post) to refuse.
    """
    words = [w.lower() for w in _WORD.findall(text)][:MAX_WORDS]
    grams: set[str] = set()
    for n in range(1, MAX_GRAM + 1):
        grams.update(" ".join(words[i : i + n]) for i in range(len(words) - n + 1))
        grams.update("-".join(words[i : i + n]) for i in range(len(words) - n + 1) if n > 1)
    titled: set[str] = set()
    for i, word in enumerate(words):
        if word in TITLES:
            after = words[i + 1 : i + 1 + MAX_GRAM]
            titled.update(" ".join(after[:n]) for n in range(1, len(after) + 1))
    return grams, titled
