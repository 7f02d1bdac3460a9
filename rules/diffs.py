"""Rule set items in words: what one holds, and what changed from one to another.

An item is a dict as a rule set version holds it (``RuleSetItem.content``):
position, rule, params, ``as``, severity, and ``stored``, the stored condition
rule it names as it was (or ``None`` for a code rule).
"""

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

# Each item field in the order it is told, with what a blank value means; then
# each field of a stored condition rule, with its label.
_FIELDS = (("position", ""), ("rule", ""), ("params", ""), ("as", "none"), ("severity", "default"))
_STORED_FIELDS = (
    ("condition", "condition"),
    ("description", "description"),
    ("severity", "default severity"),
)


@dataclass(frozen=True)
class ItemChange:
    """One item added, removed or changed between two versions, in words."""

    kind: str
    key: str
    details: tuple[str, ...]

    def __str__(self) -> str:
        """Return the change as one line: what happened to which item, and how."""
        return f"{self.kind.capitalize()} {self.key}: {', '.join(self.details)}"


def item_key(item: Mapping[str, Any]) -> str:
    """Return the item's key in results: its ``as``, else its rule's name."""
    return item["as"] or item["rule"]


def describe_item(item: Mapping[str, Any]) -> tuple[str, ...]:
    """Return what the item holds, one phrase per field that is set."""
    phrases = [f"{name} {_text(item[name])}" for name, _ in _FIELDS if item[name] not in ("", {})]
    stored = item.get("stored") or {}
    phrases += [
        f"{label} {_text(stored[name])}" for name, label in _STORED_FIELDS if name in stored
    ]
    return tuple(phrases)


def item_field_changes(old: Mapping[str, Any], new: Mapping[str, Any]) -> tuple[str, ...]:
    """Return each field that differs from *old* to *new*, as ``field old → new``.

    The stored condition rule an item names counts as part of it: its
    condition, description and default severity.
    """
    changes = [
        f"{name} {_text(old[name], blank)} → {_text(new[name], blank)}"
        for name, blank in _FIELDS
        if old[name] != new[name]
    ]
    was, now = old.get("stored") or {}, new.get("stored") or {}
    for name, label in _STORED_FIELDS:
        if was.get(name) != now.get(name):
            changes.append(f"{label} {_text(was.get(name))} → {_text(now.get(name))}")
    return tuple(changes)


def diff_items(
    before: Sequence[Mapping[str, Any]], after: Sequence[Mapping[str, Any]]
) -> list[ItemChange]:
    """Return what changed from the items *before* to the items *after*.

    Items are matched by key; an item left over on each side with the same
    rule is the same item whose ``as`` changed. Changed and added items come
    in their new order, then removed ones in their old order; an item that
    did not change is not listed.
    """
    old_items = sorted(before, key=lambda item: item["position"])
    new_items = sorted(after, key=lambda item: item["position"])
    unmatched = {item_key(item): item for item in old_items}
    matches = {
        item_key(new): unmatched.pop(item_key(new))
        for new in new_items
        if item_key(new) in unmatched
    }
    for new in new_items:
        if item_key(new) in matches:
            continue
        renamed = next((k for k, old in unmatched.items() if old["rule"] == new["rule"]), None)
        if renamed is not None:
            matches[item_key(new)] = unmatched.pop(renamed)
    changes: list[ItemChange] = []
    for new in new_items:
        old = matches.get(item_key(new))
        if old is None:
            changes.append(ItemChange("added", item_key(new), describe_item(new)))
        elif details := item_field_changes(old, new):
            changes.append(ItemChange("changed", item_key(new), details))
    changes += [ItemChange("removed", key, describe_item(old)) for key, old in unmatched.items()]
    return changes


def _text(value: Any, blank: str = "none") -> str:
    """Return *value* as an operator reads it: JSON for data, *blank* for nothing."""
    if value is None or value == "":
        return blank
    if isinstance(value, str | int):
        return str(value)
    return json.dumps(value, sort_keys=True, ensure_ascii=False)
