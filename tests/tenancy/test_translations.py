"""The Russian and Italian catalogues: complete, compiled, and used for each user's language.

The .po files are read with a small parser and the committed .mo files with the standard
library, so that these tests need no gettext tools: a newcomer without them still gets (and
checks) the translations.
"""

import ast
import gettext
import re
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from django.conf import settings
from django.utils import translation
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from contactcenter.tenancy.models import UserPreference
from crm.models import Customer

LOCALE_DIR = Path(settings.BASE_DIR) / "locale"
LANGUAGES = ("ru", "it")
# The Plural-Forms that makemessages copies from Django's own catalogues: Russian has one
# (1, 21), few (2-4, 22-24), many (0, 5-20, 25-30) and a fourth form for fractions.
NPLURALS = {"ru": 4, "it": 2}
_PLACEHOLDER = re.compile(r"%\(\w+\)[sdfi]|\{\w*\}|</?[a-zA-Z][^>]*>")


@dataclass
class Entry:
    msgid: str = ""
    msgid_plural: str | None = None
    msgctxt: str | None = None
    msgstr: dict[int, str] = field(default_factory=dict)  # -1 for a message without plural
    flags: set[str] = field(default_factory=set)

    @property
    def label(self) -> str:
        return f"{self.msgctxt}|{self.msgid}" if self.msgctxt else self.msgid


def read_po(path: Path) -> list[Entry]:
    """Every entry of a .po file, the header first (its msgid is empty); strings unescaped.
    Obsolete entries (#~ lines only) are left out."""
    entries: list[Entry] = []
    entry, target = Entry(), None
    # A blank line ends an entry: one more after the last closes it too.
    lines = [*path.read_text(encoding="utf-8").splitlines(), ""]
    for line in lines:
        if not line.strip():
            if target is not None:
                entries.append(entry)
            entry, target = Entry(), None
            continue
        if line.startswith("#,"):
            entry.flags |= {flag.strip() for flag in line[2:].split(",")}
            continue
        if line.startswith("#"):
            continue
        keyword, _, rest = line.partition(" ")
        if keyword.startswith('"'):
            text = ast.literal_eval(line)
        else:
            text = ast.literal_eval(rest)
            target = keyword
            if keyword.startswith("msgstr"):
                index = re.fullmatch(r"msgstr(?:\[(\d+)\])?", keyword).group(1)
                target = int(index) if index is not None else -1
                entry.msgstr[target] = ""
            else:
                setattr(entry, keyword, "")
        if isinstance(target, int):
            entry.msgstr[target] += text
        else:
            setattr(entry, target, getattr(entry, target) + text)
    return entries


def catalogue(language: str) -> tuple[Entry, list[Entry]]:
    header, *entries = read_po(LOCALE_DIR / language / "LC_MESSAGES" / "django.po")
    return header, entries


@pytest.fixture(autouse=True)
def _default_language_afterwards():
    """A request leaves the user's language active in the thread: later tests expect English."""
    yield
    translation.deactivate()


@pytest.mark.parametrize("language", LANGUAGES)
def test_catalogue_header_names_its_language_and_plural_forms(language):
    header, _entries = catalogue(language)

    assert header.msgid == ""
    assert "fuzzy" not in header.flags
    assert f"Language: {language}\n" in header.msgstr[-1]
    assert f"Plural-Forms: nplurals={NPLURALS[language]};" in header.msgstr[-1]


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_entry_is_translated_and_none_is_fuzzy(language):
    _header, entries = catalogue(language)
    forms = [-1]
    plural_forms = list(range(NPLURALS[language]))

    problems = [
        entry.label
        for entry in entries
        if "fuzzy" in entry.flags
        or sorted(entry.msgstr) != (plural_forms if entry.msgid_plural else forms)
        or not all(entry.msgstr.values())
    ]

    assert len(entries) > 400
    assert problems == []


@pytest.mark.parametrize("language", LANGUAGES)
def test_translations_keep_every_placeholder_and_html_tag(language):
    _header, entries = catalogue(language)

    problems = []
    for entry in entries:
        for index, text in entry.msgstr.items():
            # Form 0 is the singular; the others follow msgid_plural.
            source = entry.msgid if index <= 0 else entry.msgid_plural
            if sorted(_PLACEHOLDER.findall(text)) != sorted(_PLACEHOLDER.findall(source)):
                problems.append((entry.label, index, text))

    assert problems == []


@pytest.mark.parametrize("language", LANGUAGES)
def test_compiled_catalogue_holds_exactly_the_translations_of_the_po_file(language):
    """The committed .mo is what compilemessages makes of the committed .po, entry for entry."""
    _header, entries = catalogue(language)
    expected = {}
    for entry in entries:
        # The keys GNUTranslations uses: a context is joined to the msgid with EOT, and each
        # plural form is keyed by (msgid, form).
        key = f"{entry.msgctxt}\x04{entry.msgid}" if entry.msgctxt else entry.msgid
        for index, text in entry.msgstr.items():
            expected[key if index < 0 else (key, index)] = text

    with (LOCALE_DIR / language / "LC_MESSAGES" / "django.mo").open("rb") as mo:
        compiled = dict(gettext.GNUTranslations(mo)._catalog)
    compiled.pop("")  # the header

    assert compiled == expected


def test_russian_rows_take_the_plural_form_of_their_number():
    with translation.override("ru"):
        rows = [
            translation.ngettext("%(counter)s row", "%(counter)s rows", n) % {"counter": n}
            for n in (1, 2, 5, 11, 21, 22, 25)
        ]

    assert rows == [
        "1 строка",
        "2 строки",
        "5 строк",
        "11 строк",
        "21 строка",
        "22 строки",
        "25 строк",
    ]


def test_italian_rows_take_the_plural_form_of_their_number():
    with translation.override("it"):
        rows = [
            translation.ngettext("%(counter)s row", "%(counter)s rows", n) % {"counter": n}
            for n in (0, 1, 2)
        ]

    assert rows == ["0 righe", "1 riga", "2 righe"]


def test_my_work_is_in_russian_for_a_user_who_prefers_russian(client, agent):
    UserPreference.objects.create(user=agent, language="ru")
    client.force_login(agent)

    page = client.get("/work/").content.decode()

    assert '<html lang="ru"' in page
    assert "<title>Моя работа | Контакт-центр</title>" in page
    assert '<a href="/work/">Моя работа</a>' in page
    assert "<h2>Мои активные обращения</h2>" in page
    assert "My work" not in page


def test_my_work_is_in_italian_for_a_user_who_prefers_italian(client, agent):
    UserPreference.objects.create(user=agent, language="it")
    client.force_login(agent)

    page = client.get("/work/").content.decode()

    assert '<html lang="it"' in page
    assert "<title>Il mio lavoro | Contact center</title>" in page
    assert '<a href="/work/">Il mio lavoro</a>' in page
    assert "<h2>I miei ticket attivi</h2>" in page
    assert "My work" not in page


def test_browser_language_is_used_when_the_user_has_no_preference(client, agent):
    client.force_login(agent)

    page = client.get("/work/", headers={"accept-language": "it"}).content.decode()

    assert '<a href="/work/">Il mio lavoro</a>' in page


def test_preference_beats_the_browser_language(client, agent):
    UserPreference.objects.create(user=agent, language="ru")
    client.force_login(agent)

    page = client.get("/work/", headers={"accept-language": "it"}).content.decode()

    assert '<a href="/work/">Моя работа</a>' in page


def test_ticket_page_shows_status_and_tier_in_russian(client, agent, ticket):
    UserPreference.objects.create(user=agent, language="ru")
    client.force_login(agent)

    page = client.get(f"/tickets/{ticket.pk}/").content.decode()

    assert '<span class="badge status-new" id="status">Новое</span>' in page
    assert '<dd id="tier">Первая линия</dd>' in page


def test_api_phone_error_is_in_russian_for_a_session_user_who_prefers_russian(agent, company):
    UserPreference.objects.create(user=agent, language="ru")
    client = APIClient()
    client.force_login(agent)

    response = client.post(
        "/api/customers/",
        {"company": "bank", "last_name": "Petrov", "phones": [{"raw": "12"}]},
        format="json",
    )

    assert response.status_code == 400
    assert response.json() == {"phones": ["12: слишком короткий"]}
    assert not Customer.objects.exists()


def test_api_phone_error_is_in_italian_for_a_token_user_who_prefers_italian(agent, company):
    UserPreference.objects.create(user=agent, language="it")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=agent).key}")

    response = client.post(
        "/api/customers/",
        {"company": "bank", "last_name": "Petrov", "phones": [{"raw": "12"}]},
        format="json",
    )

    assert response.status_code == 400
    assert response.json() == {"phones": ["12: troppo corto"]}
    assert not Customer.objects.exists()
