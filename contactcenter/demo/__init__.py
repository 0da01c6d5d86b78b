"""Demo data: the small, hand-written data set and bulk data for benchmarks.

`seed_demo()` loads three client companies (a Russian bank, an Italian shop, a US internet
provider) with users of every role, customers and tickets, through the CRM services.
`seed_bulk()` adds generated customers and tickets by the million for benchmarks.
The `seed_demo` management command is the entrance to both.
"""

from contactcenter.demo.bulk import BulkResult, BulkSeedError, seed_bulk
from contactcenter.demo.catalogue import COMPANIES, DEMO_PASSWORD, DEMO_SLUGS, USERS
from contactcenter.demo.small import DemoSummary, seed_demo

__all__ = [
    "COMPANIES",
    "DEMO_PASSWORD",
    "DEMO_SLUGS",
    "USERS",
    "BulkResult",
    "BulkSeedError",
    "DemoSummary",
    "seed_bulk",
    "seed_demo",
]
