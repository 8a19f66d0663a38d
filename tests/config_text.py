"""Config text for check-config tests: a base file with 'old=>new' edits."""
from __future__ import annotations


def with_changes(text: str, *changes: str) -> str:
    """`text` with each 'old=>new' replacement made once (the old text must be there)."""
    for change in changes:
        old, new = change.split("=>")
        assert old in text, old
        text = text.replace(old, new, 1)
    return text
