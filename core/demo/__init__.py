"""A deterministic, vectorised generator of a realistic MOR database (the demo).

`build_demo(url)` creates the tables of `core.schema` in an empty SQLite, DuckDB or
MySQL/MariaDB database and fills them: an admin, a Reseller PRO with his own users,
provider and terminator, a plain reseller, an accountant, ~50 users with devices,
providers in terminators, real country prefixes in destination groups, currencies, the
API conflines, and `calls` call records that end a couple of minutes before `now`.

Three parts, along the demo's three jobs:
- `catalogue`: everything but the call records, fixed (the same ids and names for every
  seed, so docs and tests can name "jsmith" or the Reseller PRO's id);
- `simulator`: the call records, which depend only on (seed, calls, days, now) and are
  generated with numpy, column by column, stage by stage;
- `writers`: `build_demo` and `ensure_demo`, which write them into a database.

What the records look like (what a report over them shows):
- one user call = 1-3 failover attempts (records) sharing `uniqueid`, ids increasing;
  only the last attempt can be answered; ASR per record is about 50 %, ACD ~3 min;
- `billsec = ceil(real_billsec)`, zero unless ANSWERED; prices are rate x billsec after
  the tariff's or provider's billing increment / 60, zero unless ANSWERED;
- a few loss-making routes (cheap tariffs on thin-margin destinations);
- Reseller PRO users route through his own provider and the admin's common-use ones;
  `reseller_price` (what a reseller pays the admin) is set on calls through admin providers;
- noise the report must cope with: incoming calls (user_id -1), the admin's own calls
  (user_id 0), calling-card calls (card_id > 0, with a real user_id), a few failed
  records with no provider (provider_id 0, MOR's own hang-up causes 2xx), pdd 0 on some
  records, caller ids with spreadsheet formulas, quotes, `&`, `<` and non-ASCII names.
"""
from .catalogue import ACCOUNTANT_ID, ADMIN_ID, API_SECRET, RESELLER_ID, RESELLER_PRO_ID
from .simulator import MAX_CALLS, demo_tables, max_calls
from .writers import DEFAULT_DEMO_PATH, DemoExists, DemoSummary, build_demo, ensure_demo

__all__ = ["build_demo", "ensure_demo", "demo_tables", "DemoSummary", "DemoExists",
           "DEFAULT_DEMO_PATH", "ADMIN_ID", "ACCOUNTANT_ID", "RESELLER_PRO_ID",
           "RESELLER_ID", "API_SECRET", "MAX_CALLS", "max_calls"]
