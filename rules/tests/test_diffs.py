from rules.diffs import diff_items


def _item(position, rule, params=None, alias="", severity="", stored=None):
    return {
        "position": position,
        "rule": rule,
        "params": params or {},
        "as": alias,
        "severity": severity,
        "stored": stored,
    }


BIG = {
    "description": "Over 100.",
    "severity": "error",
    "condition": {">": [{"var": "total"}, "100"]},
}


def test_an_added_item_is_told_with_all_it_holds():
    before = [_item(1, "min_items_2")]
    after = [
        _item(1, "min_items_2"),
        _item(2, "total_greater_than", {"amount": "250.00"}, "big_order", "warning"),
    ]

    assert [str(change) for change in diff_items(before, after)] == [
        'Added big_order: position 2, rule total_greater_than, params {"amount": "250.00"}, '
        "as big_order, severity warning"
    ]


def test_a_removed_item_is_told_with_what_it_held():
    before = [_item(1, "min_items_2"), _item(2, "big", stored=BIG)]
    after = [_item(1, "min_items_2")]

    assert [str(change) for change in diff_items(before, after)] == [
        'Removed big: position 2, rule big, condition {">": [{"var": "total"}, "100"]}, '
        "description Over 100., default severity error"
    ]


def test_a_changed_item_tells_each_changed_field_from_old_to_new():
    before = [_item(1, "min_items_2"), _item(2, "total_greater_than", {"amount": "100.00"})]
    after = [
        _item(1, "total_greater_than", {"amount": "160.00"}, severity="warning"),
        _item(2, "min_items_2"),
    ]

    assert [str(change) for change in diff_items(before, after)] == [
        'Changed total_greater_than: position 2 → 1, params {"amount": "100.00"} → '
        '{"amount": "160.00"}, severity default → warning',
        "Changed min_items_2: position 1 → 2",
    ]


def test_an_item_given_an_as_is_the_same_item_changed():
    before = [_item(1, "min_items", {"count": 2})]
    after = [_item(1, "min_items", {"count": 2}, alias="two_or_more")]

    assert [str(change) for change in diff_items(before, after)] == [
        "Changed two_or_more: as none → two_or_more"
    ]


def test_a_change_to_a_stored_condition_is_told():
    before = [_item(1, "big", stored=BIG)]
    after = [
        _item(
            1,
            "big",
            stored={**BIG, "condition": {">": [{"var": "total"}, "150"]}, "severity": "warning"},
        )
    ]

    assert [str(change) for change in diff_items(before, after)] == [
        'Changed big: condition {">": [{"var": "total"}, "100"]} → '
        '{">": [{"var": "total"}, "150"]}, default severity error → warning'
    ]


def test_unchanged_items_are_not_listed_and_a_first_version_adds_all():
    items = [_item(1, "min_items_2"), _item(2, "min_total_100")]

    assert diff_items(items, items) == []
    assert [change.kind for change in diff_items([], items)] == ["added", "added"]
