"""The zh-Hans catalogue is complete: every msgid has a translation, none is fuzzy, and it is compiled."""

import ast
import gettext
from pathlib import Path

from django.conf import settings

PO = Path(settings.BASE_DIR) / "feedesk" / "locale" / "zh_Hans" / "LC_MESSAGES" / "django.po"


def _entries(text: str) -> list[dict[str, str]]:
    """Split a .po file into entries: flags plus each keyword's joined string."""
    entries = []
    for block in text.split("\n\n"):
        entry: dict[str, str] = {"flags": ""}
        key = ""
        for line in block.splitlines():
            if line.startswith("#,"):
                entry["flags"] += line[2:]
            elif line.startswith("#"):
                continue
            elif line.startswith('"'):
                entry[key] += ast.literal_eval(line)
            elif line.strip():
                key, _space, value = line.partition(" ")
                entry[key] = ast.literal_eval(value)
        if "msgid" in entry:
            entries.append(entry)
    return entries


def test_the_parser_sees_untranslated_and_fuzzy_entries():
    sample = 'msgid "A"\nmsgstr ""\n\n#, fuzzy, python-format\nmsgid "B %(n)s"\nmsgstr "乙 %(n)s"\n'
    first, second = _entries(sample)
    assert first["msgstr"] == "" and "fuzzy" in second["flags"]


def test_every_message_is_translated_and_none_is_fuzzy():
    entries = _entries(PO.read_text(encoding="utf-8"))
    assert len(entries) > 500
    header, *messages = entries
    assert header["msgid"] == "" and "nplurals=1" in header["msgstr"]
    untranslated = [
        e["msgid"]
        for e in messages
        if not all(value for key, value in e.items() if key.startswith("msgstr"))
        or not any(key.startswith("msgstr") for key in e)
    ]
    fuzzy = [e["msgid"] for e in entries if "fuzzy" in e["flags"]]
    assert untranslated == []
    assert fuzzy == []


def _compiled_text(compiled: gettext.GNUTranslations, entry: dict[str, str]) -> str:
    if "msgctxt" in entry:
        return compiled.pgettext(entry["msgctxt"], entry["msgid"])
    return compiled.gettext(entry["msgid"])


def test_compiled_catalogue_matches_the_source():
    # A .po edited without compilemessages would ship stale or missing translations.
    with PO.with_suffix(".mo").open("rb") as mo:
        compiled = gettext.GNUTranslations(mo)
    stale = [
        e["msgid"]
        for e in _entries(PO.read_text(encoding="utf-8"))[1:]
        if "msgid_plural" not in e and _compiled_text(compiled, e) != e["msgstr"]
    ]
    assert stale == []
