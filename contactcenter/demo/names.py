# ruff: noqa: RUF001, RUF003 - Russian data: Cyrillic letters that look Latin are meant.
"""Deterministic people, organisations, phones and e-mails for bulk customers.

Everything is a pure function of the customer's position `k` within its company, so that a rerun
generates the same rows and a test can recompute them by hand. Phone numbers are built as strings
rather than parsed (parsing a million numbers with phonenumbers takes minutes); the tests check
that every form built here parses back to the same E.164 number.
"""

from dataclasses import dataclass

# Spreads consecutive k over the number space, so that the benchmark's lookups hit the phone index
# at random places instead of walking it in order. Odd multipliers are bijections modulo 10**n.
_MIX = 2654435761


def mix(k: int) -> int:
    return (k * _MIX) & 0xFFFFFFFF


@dataclass(frozen=True)
class Person:
    first_name: str
    middle_name: str
    last_name: str
    email_local: str


_RU_TRANSLIT = dict(
    zip(
        "абвгдеёжзийклмнопрстуфхцчшщъыьэюя",
        "a b v g d e e zh z i y k l m n o p r s t u f kh ts ch sh shch - y - e yu ya".split(),  # noqa: SIM905
        strict=True,
    )
)


def translit(text: str) -> str:
    out = []
    for char in text.lower():
        latin = _RU_TRANSLIT.get(char, char)
        out.append("" if latin == "-" else latin)
    return "".join(out)


RU_MALE = ("Александр", "Дмитрий", "Максим", "Сергей", "Андрей", "Алексей", "Иван", "Михаил")
RU_FEMALE = ("Анна", "Мария", "Елена", "Ольга", "Наталья", "Татьяна", "Ирина", "Екатерина")
# (father's name, patronymic of a son, of a daughter)
RU_PATRONYMICS = (
    ("Александрович", "Александровна"),
    ("Сергеевич", "Сергеевна"),
    ("Иванович", "Ивановна"),
    ("Николаевич", "Николаевна"),
    ("Владимирович", "Владимировна"),
    ("Петрович", "Петровна"),
)
# Surnames in -ов/-ев/-ин take -а for women.
RU_LAST = (
    "Иванов",
    "Смирнов",
    "Кузнецов",
    "Попов",
    "Васильев",
    "Петров",
    "Соколов",
    "Михайлов",
    "Новиков",
    "Морозов",
    "Волков",
    "Лебедев",
    "Егоров",
    "Павлов",
    "Козлов",
    "Никитин",
)
RU_ORGS = ("Ромашка", "Вектор", "Альфа-Строй", "Северный ветер", "Техносфера", "Гранит")

IT_MALE = ("Marco", "Luca", "Giuseppe", "Alessandro", "Francesco", "Andrea", "Matteo", "Paolo")
IT_FEMALE = ("Giulia", "Francesca", "Sofia", "Chiara", "Sara", "Martina", "Elena", "Anna")
IT_LAST = (
    "Rossi",
    "Russo",
    "Ferrari",
    "Esposito",
    "Bianchi",
    "Romano",
    "Colombo",
    "Ricci",
    "Marino",
    "Greco",
    "Bruno",
    "Gallo",
    "Conti",
    "De Luca",
    "Costa",
    "Fontana",
)
IT_ORGS = ("Moda Nord", "Vini del Sole", "Casa Bella", "Tecnoservizi", "Pasticceria Dolce")

US_MALE = ("James", "John", "Robert", "Michael", "David", "William", "Daniel", "Thomas")
US_FEMALE = ("Mary", "Jennifer", "Linda", "Patricia", "Elizabeth", "Susan", "Jessica", "Emily")
US_LAST = (
    "Smith",
    "Johnson",
    "Williams",
    "Brown",
    "Jones",
    "Garcia",
    "Miller",
    "Davis",
    "Rodriguez",
    "Martinez",
    "Wilson",
    "Anderson",
    "Taylor",
    "Thomas",
    "Moore",
    "Jackson",
)
US_ORGS = ("Hudson", "Empire", "Liberty", "Brooklyn", "Harbor", "Riverside")

DOMAINS = ("example.com", "example.net", "example.org")


def person(country: str, k: int) -> Person:
    h = mix(k)
    female = k % 2 == 1
    domain = DOMAINS[h % 3]
    if country == "RU":
        first = (RU_FEMALE if female else RU_MALE)[(h >> 2) % 8]
        middle = RU_PATRONYMICS[(h >> 5) % len(RU_PATRONYMICS)][1 if female else 0]
        last = RU_LAST[(h >> 9) % len(RU_LAST)] + ("а" if female else "")
        local = f"{translit(first)}.{translit(last)}.{k}"
    else:
        male_names, female_names, last_names = (
            (IT_MALE, IT_FEMALE, IT_LAST) if country == "IT" else (US_MALE, US_FEMALE, US_LAST)
        )
        first = (female_names if female else male_names)[(h >> 2) % 8]
        middle = ""
        last = last_names[(h >> 9) % len(last_names)]
        local = f"{first}.{last.replace(' ', '')}.{k}".lower()
    return Person(first, middle, last, f"{local}@{domain}")


def organisation(country: str, k: int) -> tuple[str, str]:
    """(name, e-mail) of an organisation."""
    h = mix(k)
    if country == "RU":
        name = f"ООО «{RU_ORGS[h % len(RU_ORGS)]}-{k}»"
    elif country == "IT":
        name = f"{IT_ORGS[h % len(IT_ORGS)]} {k} S.r.l."
    else:
        name = f"{US_ORGS[h % len(US_ORGS)]} Services {k} LLC"
    return name, f"office.{k}@{DOMAINS[h % 3]}"


def _ru(area: str, s: int) -> tuple[str, str]:
    return f"8 ({area}) {s // 10000:03d}-{s // 100 % 100:02d}-{s % 100:02d}", f"+7{area}{s:07d}"


def _us(area: str, s: int) -> tuple[str, str]:
    # Exchanges start at 200: a North American exchange never begins with 0 or 1.
    exchange, line = 200 + s // 10000, s % 10000
    return f"({area}) {exchange:03d}-{line:04d}", f"+1{area}{exchange:03d}{line:04d}"


def mobile(country: str, k: int) -> tuple[str, str]:
    """(as typed in national format, E.164) of customer k's mobile; unique per k below 8 million."""
    if country == "RU":
        return _ru("916", (k * 7919 + 1234567) % 10**7)
    if country == "IT":
        s = (k * 7919 + 1234567) % 10**7
        return f"347 {s // 10000:03d} {s % 10000:04d}", f"+39347{s:07d}"
    return _us("212", (k * 7919 + 1234567) % 8_000_000)


def landline(country: str, k: int) -> tuple[str, str]:
    """(as typed, E.164) of a home line in the company's capital (Moscow, Milan, Brooklyn)."""
    if country == "RU":
        return _ru("495", (k * 104729 + 7654321) % 10**7)
    if country == "IT":
        s = (k * 104729 + 7654321) % 10**8
        return f"02 {s // 10000:04d} {s % 10000:04d}", f"+3902{s:08d}"
    return _us("718", (k * 104729 + 7654321) % 8_000_000)
