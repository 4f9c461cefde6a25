"""About: what each metric and parameter means, in plain words."""
import streamlit as st

st.title("About these reports")
st.markdown("""
This tool computes MOR's **aggregate report** (the `aggregate_get` API call of MOR X18) from
your MOR database, a DuckDB analytics copy of it, or a MOR server's API. Every sidebar field is
one `aggregate_get` parameter; the address bar holds the applied report, so a copied link
reopens it.

### Which calls count
Calls whose start (`calldate`) lies in the period, made by a user (not incoming, not the
admin's own) and not calling-card calls. A Reseller PRO sees only his own users' calls, and on
the admin's providers his billed terminator is the admin's reseller price.
With **From user perspective**, each user call counts once: the last failover attempt.

### Metrics
| column | meaning |
|---|---|
| Calls | call records (failover attempts count separately unless *From user perspective*) |
| Answered | records answered: disposition `ANSWERED` (or hangup cause 16, a setting) |
| Billed originator | what originators were charged for answered calls |
| Billed terminator | what the terminators (providers) cost for answered calls |
| Billed duration originator / terminator | seconds billed to the user / by the provider, after increments |
| Duration | seconds from answer to hang-up of answered calls (real, unrounded seconds with *Real billsec*) |
| ASR | answer-seizure ratio: answered ÷ calls × 100 |
| ACD | average call duration: duration ÷ answered calls |
| PDD | post-dial delay: mean over records that have one |
| Profit | billed originator − billed terminator |
| Margin | profit ÷ billed originator × 100 |
| Markup | billed originator ÷ billed terminator × 100 − 100 |

**Totals** are computed from the summed columns (so total ASR is all answered ÷ all calls),
never averaged over rows. Colours follow MOR: ASR under 10 % red, under 20 % yellow; ACD
under 2:00 red, under 3:00 yellow; negative profit red.

### Filters
`%` matches any run of characters in the source number, destination number and destination
group; without `%` a value must match exactly; `_` is an ordinary character; letter case is
ignored. *CallerID contains* matches any part of the CallerID, literally.

### Money and time
Amounts are stored in MOR's system currency and converted with the chosen currency's exchange
rate. Call dates are read in the report time zone chosen on the Data source page.
""")
