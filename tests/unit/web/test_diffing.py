"""`web/diffing.py`: two versions of a flow side by side."""

from __future__ import annotations

from bettercallsold.web.diffing import DiffRow, changed_count, side_by_side, version_lines


class TestSideBySide:
    def test_changed_lines_face_each_other_and_extra_lines_face_a_blank(self) -> None:
        rows = side_by_side(["a", "b", "c"], ["a", "B", "c", "d"])
        assert rows == [
            DiffRow("same", "a", "a"),
            DiffRow("changed", "b", "B"),
            DiffRow("same", "c", "c"),
            DiffRow("added", None, "d"),
        ]
        assert changed_count(rows) == 2

    def test_a_removed_line(self) -> None:
        assert side_by_side(["a", "b"], ["a"]) == [
            DiffRow("same", "a", "a"),
            DiffRow("removed", "b", None),
        ]


class TestVersionLines:
    def test_the_flow_fields_come_before_the_steps(self) -> None:
        lines = version_lines(
            {
                "name": "Mondays",
                "trigger_event": "schedule",
                "schedule": {"cron": "0 9 * * 1", "timezone": "Europe/Paris"},
                "flow_definition": {"steps": [{"id": "a"}]},
            }
        )
        assert lines[:4] == [
            "Name: Mondays",
            "When: schedule",
            "Schedule: 0 9 * * 1 (Europe/Paris)",
            "Steps:",
        ]
        assert '    "id": "a"' in lines
