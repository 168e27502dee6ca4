"""The audit trail's before and after as lines a person reads (selectors.audit.audit_change_lines)."""
from labeling_app.audit.selectors import audit_change_lines


def test_a_changed_setting_reads_old_to_new_with_shares_as_percentages_and_lists_joined():
    lines = audit_change_lines(
        before={"overlap_share": 0.0, "overlap_coders": 2},
        after={"overlap_share": 0.5, "overlap_coders": 2, "overlap_items": 3, "participants": ["ana", "andy"]})
    assert lines == ["overlap share: 0% → 50%", "overlap coders: 2", "overlap items: none → 3",
                     "participants: none → ana, andy"]


def test_labels_themes_and_flags_read_as_words():
    lines = audit_change_lines(before={"coder": "ana", "themes": ["Price"], "complete": False},
                               after={"coder": "ana", "themes": ["Delivery", "Price"], "complete": True})
    assert lines == ["coder: ana", "themes: Price → Delivery, Price", "complete: no → yes"]
    assert audit_change_lines(before={"description": ""}, after={"description": "Cost"}) == \
        ["description: (empty) → Cost"]
    assert audit_change_lines(before={"overlap_share": 0.125}, after={"overlap_share": 1}) == \
        ["overlap share: 12.5% → 100%"]


def test_a_creation_a_removal_and_a_reorder():
    assert audit_change_lines(before=None, after={"user": "newcomer", "role": "lead"}) == \
        ["user: newcomer", "role: lead"]
    assert audit_change_lines(before={"user": "ana", "role": "analyst"}, after=None) == \
        ["user: ana (before)", "role: analyst (before)"]
    assert audit_change_lines(before=["Price", "Delivery"], after=["Delivery", "Price"]) == \
        ["Price, Delivery → Delivery, Price"]
    assert audit_change_lines(before=None, after=None) == []
    assert audit_change_lines(before=None, after={"themes": []}) == ["themes: none"]
