"""Grades, the pass mark and the weighted score."""

import unittest

from scylla.grading import grade, normalize_score, passed
from scylla.judge import ItemResult, compute_score
from scylla.rubric import parse_rubric


class GradeTest(unittest.TestCase):
    def test_upstream_scale(self):
        cases = [
            (1.0, "S"), (0.99999, "A"), (0.95, "A"), (0.80, "A"), (0.7999, "B"),
            (0.60, "B"), (0.5999, "C"), (0.40, "C"), (0.3999, "D"), (0.20, "D"),
            (0.1999, "F"), (0.0, "F"),
        ]
        for score, expected in cases:
            with self.subTest(score=score):
                self.assertEqual(grade(score), expected)

    def test_float_sums_that_are_one_grade_s(self):
        score = sum([0.1] * 10)  # 0.9999999999999999 in binary floats
        self.assertNotEqual(score, 1.0)
        self.assertEqual(grade(score), "S")

    def test_pass_mark(self):
        self.assertTrue(passed(0.60))
        self.assertFalse(passed(0.5999))
        self.assertTrue(passed(0.5, threshold=0.5))

    def test_normalize_clamps(self):
        self.assertEqual(normalize_score(1.2), 1.0)
        self.assertEqual(normalize_score(-0.1), 0.0)


RUBRIC = {
    "categories": {
        "functional": {"weight": 0.6, "scoring_type": "checklist", "items": [
            {"id": "F1", "check": "a", "points": 1.0},
            {"id": "F2", "check": "b", "points": 3.0},
        ]},
        "quality": {"weight": 0.4, "scoring_type": "subjective", "items": [
            {"id": "Q1", "check": "c", "points": 2.0},
        ]},
    },
    "grading": {"pass_threshold": 0.6},
}


def item(rubric, item_id, achieved, status):
    spec = next(i for i in rubric.items if i.id == item_id)
    return ItemResult(item_id, spec.category, spec.check, spec.points, achieved, status, "command", "")


class ScoreTest(unittest.TestCase):
    def setUp(self):
        self.rubric = parse_rubric(RUBRIC, "rubric.yaml")

    def test_weighted_average_of_category_scores(self):
        results = [item(self.rubric, "F1", 1.0, "pass"), item(self.rubric, "F2", 0.0, "fail"),
                   item(self.rubric, "Q1", 1.0, "partial")]
        score, categories = compute_score(self.rubric, results)
        # functional 1/4 = 0.25, quality 1/2 = 0.5 -> 0.6*0.25 + 0.4*0.5
        self.assertAlmostEqual(score, 0.35)
        self.assertEqual(categories["functional"]["score"], 0.25)
        self.assertEqual(categories["quality"]["applicable_points"], 2.0)

    def test_na_items_and_categories_are_left_out(self):
        results = [item(self.rubric, "F1", 1.0, "pass"), item(self.rubric, "F2", None, "na"),
                   item(self.rubric, "Q1", None, "na")]
        score, categories = compute_score(self.rubric, results)
        self.assertEqual(score, 1.0)
        self.assertIsNone(categories["quality"]["score"])
        self.assertEqual(categories["functional"]["na_items"], ["F2"])

    def test_everything_na_gives_no_score(self):
        results = [item(self.rubric, i, None, "na") for i in ("F1", "F2", "Q1")]
        self.assertIsNone(compute_score(self.rubric, results)[0])


if __name__ == "__main__":
    unittest.main()
