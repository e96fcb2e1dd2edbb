"""A seeded generator of varied English sentences for the synthetic corpus.

Sentences come from a few grammatical templates filled from word lists, so
that every utterance says something different and the phone content varies.
"""
from __future__ import annotations

from typing import List, Optional

import numpy as np

DETERMINERS = ["the", "a", "every", "this", "that", "one", "some", "my", "your", "our", "their", "no"]
ADJECTIVES = [
    "quick", "lazy", "bright", "quiet", "heavy", "gentle", "ancient", "modern", "tiny", "enormous", "curious",
    "careful", "yellow", "purple", "golden", "silver", "frozen", "warm", "bitter", "sweet", "narrow", "distant",
    "hidden", "broken", "famous", "humble", "rapid", "shallow", "thick", "smooth", "rough", "noisy", "clever",
    "patient", "hungry", "sleepy", "proud", "strange", "fresh", "empty",
]
NOUNS = [
    "farmer", "teacher", "river", "mountain", "window", "garden", "engine", "violin", "harbor", "village",
    "doctor", "painter", "rabbit", "horse", "forest", "letter", "kitchen", "bridge", "island", "market",
    "student", "sailor", "candle", "mirror", "blanket", "castle", "machine", "feather", "tiger", "pilot",
    "orchard", "station", "library", "journey", "thunder", "basket", "meadow", "compass", "lantern", "puzzle",
    "neighbor", "chimney", "pebble", "ribbon", "saddle", "tunnel", "valley", "wagon", "zebra", "oyster",
]
VERBS_TRANSITIVE = [
    "found", "painted", "carried", "watched", "followed", "repaired", "opened", "described", "borrowed",
    "measured", "admired", "ignored", "cleaned", "visited", "pushed", "counted", "hid", "bought", "sold",
    "remembered", "noticed", "lifted", "dropped", "fixed", "wrapped",
]
VERBS_INTRANSITIVE = [
    "slept", "waited", "laughed", "vanished", "trembled", "whispered", "arrived", "wandered", "shouted",
    "listened", "danced", "rested", "hurried", "stumbled", "sang", "paused", "returned", "shivered",
]
ADVERBS = [
    "slowly", "quietly", "suddenly", "happily", "rarely", "often", "barely", "gladly", "loudly", "softly",
    "early", "late", "again", "together", "twice", "nearly", "calmly", "eagerly",
]
PREPOSITIONS = ["near", "under", "behind", "beside", "across", "inside", "above", "beyond", "around", "without"]
TIMES = [
    "yesterday", "this morning", "at noon", "last winter", "on monday", "after dinner", "before sunrise",
    "in the evening", "every summer", "at midnight", "during the storm", "on a cold afternoon",
]
NUMBERS = ["two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "twelve", "twenty", "forty"]
CONNECTORS = ["and then", "because", "while", "although", "so", "but", "until", "after"]


def _pick(rng: np.random.Generator, words: List[str]) -> str:
    return words[int(rng.integers(len(words)))]


def _noun_phrase(rng: np.random.Generator) -> str:
    parts = [_pick(rng, DETERMINERS)]
    if rng.random() < 0.6:
        parts.append(_pick(rng, ADJECTIVES))
    parts.append(_pick(rng, NOUNS))
    phrase = " ".join(parts)
    if phrase.startswith("a ") and phrase[2] in "aeiou":
        phrase = "an " + phrase[2:]
    return phrase


def _clause(rng: np.random.Generator) -> str:
    kind = int(rng.integers(5))
    subject = _noun_phrase(rng)
    if kind == 0:
        return f"{subject} {_pick(rng, VERBS_TRANSITIVE)} {_noun_phrase(rng)}"
    if kind == 1:
        return f"{subject} {_pick(rng, VERBS_INTRANSITIVE)} {_pick(rng, ADVERBS)} {_pick(rng, PREPOSITIONS)} {_noun_phrase(rng)}"
    if kind == 2:
        return f"{_pick(rng, TIMES)} {subject} {_pick(rng, VERBS_TRANSITIVE)} {_pick(rng, NUMBERS)} {_pick(rng, NOUNS)}s"
    if kind == 3:
        return f"{subject} {_pick(rng, ADVERBS)} {_pick(rng, VERBS_TRANSITIVE)} {_noun_phrase(rng)} {_pick(rng, PREPOSITIONS)} {_noun_phrase(rng)}"
    return f"{subject} {_pick(rng, VERBS_INTRANSITIVE)} {_pick(rng, TIMES)}"


def make_sentence(rng: np.random.Generator, clauses: Optional[int] = None) -> str:
    """One sentence of one to three clauses, capitalised and ending in a full stop or question mark."""
    n = int(clauses or rng.integers(1, 4))
    text = _clause(rng)
    for _ in range(n - 1):
        text += f" {_pick(rng, CONNECTORS)} {_clause(rng)}"
    end = "?" if rng.random() < 0.1 else "."
    return text[0].upper() + text[1:] + end


def make_sentences(count: int, seed: int = 0, min_words: int = 6) -> List[str]:
    """``count`` different sentences of at least ``min_words`` words, reproducible from ``seed``."""
    if count < 0:
        raise ValueError(f"count must be >= 0, got {count}")
    rng = np.random.default_rng(seed)
    seen, out = set(), []
    while len(out) < count:
        s = make_sentence(rng)
        if len(s.split()) >= min_words and s not in seen:
            seen.add(s)
            out.append(s)
    return out


__all__ = ["make_sentence", "make_sentences"]
