"""The oracle: MOR's aggregate report computed in plain pandas, straight from the contract.

Written from the contract (spec "aggregate_get", sections 1-7) and the project's recorded
decisions only, never from the SQL path (core/query.py, core/report.py). Every step is a
plain filter, map or groupby so that a reader can check it line by line against the spec;
speed does not matter here.

    rows, totals = reference_report(tables, params, settings)

`tables` maps a table name to a DataFrame or to a list of row dicts (missing columns take
the schema defaults, as an INSERT would). `rows` has the key columns of the grouping in
force (spec section 3, in that table's order) then the metric columns (section 4 order);
`totals` maps each metric column to a number (section 5). Errors are the ones the real
source raises: ParamError comes from Params itself; AccessDenied and NotFound from here.

Decisions the contract leaves open, as the project took them (docs/decisions.md):
- labels: originator = TRIM(first_name ' ' last_name) else username (NULL names count as
  empty), 'User #<id>' when the users row is missing; device = description else
  device_type '/' name, 'Device #<id>' when missing; provider = providers.name,
  'Provider #<id>' when missing; terminator = terminators.name, '(Unassigned Providers)'
  for key 0 or a missing row; dst_group = destinationgroups.name, 'Unassigned Destination'
  for key 0 or a missing row; destination = destinations.name, else TRIM(directions.name
  ' ' subcode) (a missing direction counts as empty), '' when the destinations row is
  missing.
- keys: terminator = providers.terminator_id of the call's provider (0 when the provider
  row is missing); dst_group = destinations.destinationgroup_id of the destination whose
  prefix equals the call's prefix (0 when missing).
- the `dst_group` text filter matches destinationgroups.name; a call whose group row does
  not exist (key 0 or a dangling id) has no group name and never matches a given filter.
- from_user_perspective keeps, per non-empty uniqueid, the counted record with the largest
  id; records with an empty or NULL uniqueid are each their own call.
- NULL in a summed column counts as 0; NULL pdd is not > 0.
- check order: acting user (NotFound 'User was not found'), permission (AccessDenied),
  currency (NotFound 'Currency was not found'), then the id filters in the order
  s_originator_id, s_terminator_id, s_device, s_provider.
- a Reseller PRO's scope for the id filters: s_originator_id must name a user whose
  owner_id is the reseller, s_device a device of such a user; s_terminator_id and
  s_provider need only exist.
"""
from __future__ import annotations

import math
import re
from datetime import datetime
from zoneinfo import ZoneInfo

import pandas as pd

from core import schema
from core.errors import AccessDenied, NotFound
from core.params import GROUP_FLAGS, Params
from core.settings import Settings

# Spec section 3: flag -> result columns, in the table's order (GROUP_FLAGS is that order).
KEY_COLUMNS: dict[str, tuple[str, ...]] = {
    "user": ("originator_id", "originator"),
    "device": ("device_id", "device"),
    "terminator": ("terminator_id", "terminator"),
    "provider": ("provider_id", "provider"),
    "dst_group": ("dst_group_id", "dst_group"),
    "dst": ("dst", "destination"),
    "day": ("day",),
    "hour": ("hour",),
    "user_rate": ("user_rate",),
    "provider_rate": ("provider_rate",),
}
# The column holding the key itself (the label columns are looked up from it).
KEY_ID = {flag: cols[0] for flag, cols in KEY_COLUMNS.items()}

# Spec section 4, in order.
BASE_METRICS = ("total_calls", "answered_calls", "billed_originator", "billed_terminator",
                "billed_duration_originator", "billed_duration_terminator", "duration",
                "asr", "acd", "pdd")
PROFIT_METRICS = ("profit", "margin", "markup")
# What an accountant without the financial-data permission does not see.
FINANCIAL = ("billed_originator", "billed_terminator", "profit", "margin", "markup")
# Columns whose totals are plain sums.
ADDITIVE = ("total_calls", "answered_calls", "billed_originator", "billed_terminator",
            "billed_duration_originator", "billed_duration_terminator", "duration", "profit")


def key_columns(params: Params) -> list[str]:
    return [c for flag in GROUP_FLAGS if flag in params.groups for c in KEY_COLUMNS[flag]]


def metric_columns(params: Params, financial: bool = True) -> list[str]:
    cols = list(BASE_METRICS) + (list(PROFIT_METRICS) if params.profit_show else [])
    return [c for c in cols if financial or c not in FINANCIAL]


# --------------------------------------------------------------------------- helpers

def is_null(value) -> bool:
    """SQL NULL as it reaches pandas: None, NaN, NA or NaT."""
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    return isinstance(value, float) and math.isnan(value)


def is_blank(value) -> bool:
    """NULL or ''."""
    return is_null(value) or value == ""


def text(value) -> str:
    return "" if is_blank(value) else str(value)


def like(value, pattern: str) -> bool:
    """Spec section 1 text filter: '%' is any run of characters, '_' is literal, no '%'
    means an exact match; letter case is ignored. NULL never matches."""
    if is_null(value):
        return False
    regex = ".*".join(re.escape(part) for part in pattern.lower().split("%"))
    return re.fullmatch(regex, str(value).lower(), flags=re.DOTALL) is not None


def contains(value, needle: str) -> bool:
    """The clid filter: a case-insensitive substring; '%' and '_' are literal."""
    if is_null(value):
        return False
    return needle.lower() in str(value).lower()


def table(tables: dict, name: str) -> pd.DataFrame:
    """A table as a DataFrame with every schema column; absent columns take their default."""
    cols = [c.name for c in schema.metadata.tables[name].columns]
    given = tables.get(name)
    if given is None:
        rows: list[dict] = []
    elif isinstance(given, pd.DataFrame):
        rows = given.to_dict("records")
    else:
        rows = [dict(r) for r in given]
    filled = []
    for r in rows:
        full = {}
        for col in schema.metadata.tables[name].columns:
            if col.name in r:
                full[col.name] = r[col.name]
            else:
                full[col.name] = col.default.arg if col.default is not None else None
        filled.append(full)
    return pd.DataFrame(filled, columns=cols, dtype=object)


def lookup(frame: pd.DataFrame, key: str) -> dict:
    """id -> row dict."""
    return {row[key]: row for row in frame.to_dict("records")}


def num(value) -> float:
    """A summable number: NULL counts as 0."""
    return 0.0 if is_blank(value) else float(value)


# --------------------------------------------------------------------------- labels

def originator_label(users: dict, user_id) -> str:
    row = users.get(user_id)
    if row is None:
        return f"User #{user_id}"
    name = (text(row["first_name"]) + " " + text(row["last_name"])).strip(" ")
    return name if name else text(row["username"])


def device_label(devices: dict, device_id) -> str:
    row = devices.get(device_id)
    if row is None:
        return f"Device #{device_id}"
    if not is_blank(row["description"]):
        return str(row["description"])
    return text(row["device_type"]) + "/" + text(row["name"])


def provider_label(providers: dict, provider_id) -> str:
    row = providers.get(provider_id)
    return f"Provider #{provider_id}" if row is None else text(row["name"])


def terminator_label(terminators: dict, terminator_id) -> str:
    row = terminators.get(terminator_id)
    if terminator_id == 0 or row is None:
        return "(Unassigned Providers)"
    return text(row["name"])


def dst_group_label(groups: dict, group_id) -> str:
    row = groups.get(group_id)
    if group_id == 0 or row is None:
        return "Unassigned Destination"
    return text(row["name"])


def destination_label(destinations: dict, directions: dict, prefix) -> str:
    row = destinations.get(prefix)
    if row is None:
        return ""
    if not is_blank(row["name"]):
        return str(row["name"])
    direction = directions.get(row["direction_code"])
    direction_name = text(direction["name"]) if direction is not None else ""
    return (direction_name + " " + text(row["subcode"])).strip(" ")


# --------------------------------------------------------------------------- the report

def reference_report(tables: dict, params: Params, settings: Settings | None = None
                     ) -> tuple[pd.DataFrame, dict]:
    settings = settings or Settings()
    users = table(tables, "users")
    devices = table(tables, "devices")
    terminators = table(tables, "terminators")
    providers = table(tables, "providers")
    groups = table(tables, "destinationgroups")
    directions = table(tables, "directions")
    destinations = table(tables, "destinations")
    currencies = table(tables, "currencies")
    calls = table(tables, "calls")

    users_by_id = lookup(users, "id")
    devices_by_id = lookup(devices, "id")
    providers_by_id = lookup(providers, "id")
    terminators_by_id = lookup(terminators, "id")
    groups_by_id = lookup(groups, "id")
    destinations_by_prefix = lookup(destinations, "prefix")
    directions_by_code = lookup(directions, "code")

    # ---- section 6: who asks ------------------------------------------------------
    acting = users[users["username"] == params.u]
    if acting.empty:
        raise NotFound("User was not found")
    me = acting.iloc[0]
    usertype = me["usertype"]
    if usertype == "admin":
        role = "admin"
    elif usertype == "reseller" and num(me["own_providers"]) == 1:
        role = "reseller_pro"
    elif usertype == "accountant" and settings.accountant_stats:
        role = "accountant"
    else:
        raise AccessDenied("Access Denied")
    financial = not (role == "accountant" and not settings.accountant_financial)
    my_users = {uid for uid, row in users_by_id.items()
                if role != "reseller_pro" or row["owner_id"] == me["id"]}

    # ---- section 7: currency --------------------------------------------------------
    currency = currencies[currencies["name"].map(lambda n: text(n).upper())
                          == params.a_currency.upper()]
    if currency.empty:
        raise NotFound("Currency was not found")
    rate = float(currency.iloc[0]["exchange_rate"])

    # ---- section 1: id filters must name existing rows (in the acting user's scope) ----
    if params.s_originator_id is not None and params.s_originator_id not in my_users:
        raise NotFound("User was not found")
    # A Reseller PRO may name his own providers and the admin's (user 0) common-use ones, his
    # own terminators and those grouping a provider he may use (docs/decisions.md, Sources);
    # any other id reads as unknown.
    def usable_provider(row) -> bool:
        return role != "reseller_pro" or int(num(row["user_id"])) == me["id"] or (
            int(num(row["user_id"])) == 0 and int(num(row["common_use"])) == 1)

    usable_providers = {pid for pid, row in providers_by_id.items() if usable_provider(row)}
    usable_terminators = {tid for tid, row in terminators_by_id.items()
                          if role != "reseller_pro" or int(num(row["user_id"])) == me["id"]
                          or tid in {int(num(providers_by_id[p]["terminator_id"]))
                                     for p in usable_providers}}
    if params.s_terminator_id is not None and params.s_terminator_id not in usable_terminators:
        raise NotFound("Terminator was not found")
    if params.s_device is not None:
        device = devices_by_id.get(params.s_device)
        if device is None or device["user_id"] not in my_users:
            raise NotFound("Device was not found")
    if params.s_provider is not None and params.s_provider not in usable_providers:
        raise NotFound("Provider was not found")

    # ---- section 2: the call set, one record at a time ----------------------------------
    zone = ZoneInfo(settings.timezone)
    start = datetime.fromtimestamp(params.from_, zone).replace(tzinfo=None)
    end = datetime.fromtimestamp(params.till, zone).replace(tzinfo=None)

    def terminator_key(call) -> int:
        provider = providers_by_id.get(call["provider_id"])
        if provider is None or is_blank(provider["terminator_id"]):
            return 0
        return int(provider["terminator_id"])

    def dst_group_key(call) -> int:
        destination = destinations_by_prefix.get(call["prefix"])
        if destination is None or is_blank(destination["destinationgroup_id"]):
            return 0
        return int(destination["destinationgroup_id"])

    counted = []
    for call in calls.to_dict("records"):
        calldate = pd.Timestamp(call["calldate"]).to_pydatetime()
        if not (start <= calldate <= end):
            continue
        if is_blank(call["user_id"]) or not call["user_id"] > 0:
            continue
        if not (is_blank(call["card_id"]) or call["card_id"] == 0):
            continue
        if role == "reseller_pro":
            owner = users_by_id.get(call["user_id"])
            if owner is None or owner["owner_id"] != me["id"]:
                continue
        call = dict(call, calldate=calldate, terminator_key=terminator_key(call),
                    dst_group_key=dst_group_key(call))
        if params.s_originator_id is not None and call["user_id"] != params.s_originator_id:
            continue
        if params.s_terminator_id is not None and call["terminator_key"] != params.s_terminator_id:
            continue
        if params.s_device is not None and call["src_device_id"] != params.s_device:
            continue
        if params.s_provider is not None and call["provider_id"] != params.s_provider:
            continue
        if params.a_src is not None and not like(call["src"], params.a_src):
            continue
        if params.a_dst is not None and not like(call["dst"], params.a_dst):
            continue
        if params.s_duration is not None and (is_blank(call["billsec"])
                                              or call["billsec"] != params.s_duration):
            continue
        if params.dst_group is not None:
            group = groups_by_id.get(call["dst_group_key"]) if call["dst_group_key"] != 0 else None
            if group is None or not like(group["name"], params.dst_group):
                continue
        if params.clid is not None and not contains(call["clid"], params.clid):
            continue
        counted.append(call)

    if params.from_user_perspective:
        last_of: dict[str, int] = {}
        for call in counted:
            uid = call["uniqueid"]
            if not is_blank(uid):
                last_of[uid] = max(last_of.get(uid, call["id"]), call["id"])
        counted = [c for c in counted
                   if is_blank(c["uniqueid"]) or c["id"] == last_of[c["uniqueid"]]]

    # ---- per record: keys and the amounts each record adds --------------------------
    records = []
    for call in counted:
        if settings.answered_rule == "hangupcause":
            answered = call["hangupcause"] == 16
        else:
            answered = call["disposition"] == "ANSWERED"
        if role == "reseller_pro":
            provider = providers_by_id.get(call["provider_id"])
            own = provider is not None and provider["user_id"] == me["id"]
            terminator_price = call["provider_price"] if own else call["reseller_price"]
        else:
            terminator_price = call["provider_price"]
        pdd = num(call["pdd"])
        records.append({
            "originator_id": call["user_id"],
            "device_id": call["src_device_id"],
            "terminator_id": call["terminator_key"],
            "provider_id": call["provider_id"],
            "dst_group_id": call["dst_group_key"],
            "dst": call["prefix"],
            "day": call["calldate"].strftime("%Y-%m-%d"),
            "hour": call["calldate"].hour,
            "user_rate": float(call["user_rate"]),
            "provider_rate": float(call["provider_rate"]),
            "total_calls": 1,
            "answered_calls": 1 if answered else 0,
            "billed_originator": num(call["user_price"]) if answered else 0.0,
            "billed_terminator": num(terminator_price) if answered else 0.0,
            "billed_duration_originator": num(call["user_billsec"]) if answered else 0.0,
            "billed_duration_terminator": num(call["provider_billsec"]) if answered else 0.0,
            "duration": (num(call["real_billsec"] if params.use_real_billsec else call["billsec"])
                         if answered else 0.0),
            "pdd_sum": pdd if pdd > 0 else 0.0,
            "pdd_count": 1 if pdd > 0 else 0,
        })

    keys = [KEY_ID[flag] for flag in GROUP_FLAGS if flag in params.groups]
    sums = ["total_calls", "answered_calls", "billed_originator", "billed_terminator",
            "billed_duration_originator", "billed_duration_terminator", "duration",
            "pdd_sum", "pdd_count"]
    frame = pd.DataFrame(records, columns=list(KEY_ID.values()) + sums)
    if frame.empty:
        grouped = pd.DataFrame(columns=keys + sums)
    else:
        grouped = frame.groupby(keys, dropna=False, sort=True)[sums].sum().reset_index()

    # ---- money in the asked currency, derived metrics (section 4) ----------------------
    grouped["billed_originator"] = grouped["billed_originator"].astype(float) * rate
    grouped["billed_terminator"] = grouped["billed_terminator"].astype(float) * rate
    derived = [derive(row) for row in grouped.to_dict("records")]
    rows = pd.DataFrame(derived, columns=list(grouped.columns) + ["asr", "acd", "pdd",
                                                                  "profit", "margin", "markup"])

    # ---- the threshold drops rows (section 4 end) ---------------------------------------
    if params.answered_calls is not None:
        rows = rows[rows["answered_calls"] >= params.answered_calls]

    # ---- labels (section 3) -------------------------------------------------------------
    labelled = []
    for row in rows.to_dict("records"):
        out = {}
        for flag in GROUP_FLAGS:
            if flag not in params.groups:
                continue
            key = row[KEY_ID[flag]]
            if flag == "user":
                out.update(originator_id=int(key), originator=originator_label(users_by_id, key))
            elif flag == "device":
                out.update(device_id=int(key), device=device_label(devices_by_id, key))
            elif flag == "terminator":
                out.update(terminator_id=int(key),
                           terminator=terminator_label(terminators_by_id, key))
            elif flag == "provider":
                out.update(provider_id=int(key), provider=provider_label(providers_by_id, key))
            elif flag == "dst_group":
                out.update(dst_group_id=int(key), dst_group=dst_group_label(groups_by_id, key))
            elif flag == "dst":
                out.update(dst=text(key),
                           destination=destination_label(destinations_by_prefix,
                                                         directions_by_code, key))
            elif flag == "day":
                out["day"] = key
            elif flag == "hour":
                out["hour"] = int(key)
            else:
                out[flag] = float(key)
        for col in list(BASE_METRICS) + list(PROFIT_METRICS) + ["pdd_sum", "pdd_count"]:
            out[col] = row[col]
        labelled.append(out)

    metrics = metric_columns(params, financial)
    full = pd.DataFrame(labelled, columns=key_columns(params) + list(BASE_METRICS)
                        + list(PROFIT_METRICS) + ["pdd_sum", "pdd_count"])
    totals = compute_totals(full)

    result = full[key_columns(params) + metrics].reset_index(drop=True)
    for col in ("total_calls", "answered_calls"):
        result[col] = result[col].astype(int)
    return result, {m: totals[m] for m in metrics}


def ratio(numerator: float, denominator: float, scale: float = 1.0) -> float:
    return numerator / denominator * scale if denominator else 0.0


def derive(row: dict) -> dict:
    """asr, acd, pdd, profit, margin, markup of one row (or of the totals) from its sums."""
    out = dict(row)
    out["asr"] = ratio(row["answered_calls"], row["total_calls"], 100)
    out["acd"] = ratio(row["duration"], row["answered_calls"])
    out["pdd"] = ratio(row["pdd_sum"], row["pdd_count"])
    out["profit"] = row["billed_originator"] - row["billed_terminator"]
    out["margin"] = ratio(out["profit"], row["billed_originator"], 100)
    out["markup"] = (row["billed_originator"] / row["billed_terminator"] * 100 - 100
                     if row["billed_terminator"] else 0.0)
    return out


def compute_totals(rows: pd.DataFrame) -> dict:
    """Spec section 5: sums of the shown rows, ratios recomputed from the sums, pdd the
    mean over all their records with pdd > 0."""
    sums = {c: float(rows[c].sum()) if len(rows) else 0.0
            for c in ADDITIVE + ("pdd_sum", "pdd_count")}
    totals = derive(sums)
    totals["total_calls"] = int(sums["total_calls"])
    totals["answered_calls"] = int(sums["answered_calls"])
    return totals
