"""Grades and the pass mark, on upstream's scale.

S only for a score of exactly 1.0, then A >= 0.80, B >= 0.60, C >= 0.40,
D >= 0.20, else F. A run passes at the rubric's pass threshold (0.60 unless the
rubric says otherwise).
"""

from __future__ import annotations

DEFAULT_PASS_THRESHOLD = 0.60

# Scores are rounded to this many decimals before grading, so that a sum of
# float weights that is 1.0 in exact arithmetic grades S.
SCORE_DECIMALS = 6

GRADE_FLOORS = (("A", 0.80), ("B", 0.60), ("C", 0.40), ("D", 0.20))


def normalize_score(score: float) -> float:
    """Clamp to [0, 1] and round to SCORE_DECIMALS."""
    return round(min(1.0, max(0.0, float(score))), SCORE_DECIMALS)


def grade(score: float) -> str:
    score = normalize_score(score)
    if score == 1.0:
        return "S"
    for letter, floor in GRADE_FLOORS:
        if score >= floor:
            return letter
    return "F"


def passed(score: float, threshold: float = DEFAULT_PASS_THRESHOLD) -> bool:
    return normalize_score(score) >= threshold
