"""Charts: top groups, shares, time series and the day × hour heatmap."""
import streamlit as st

from core import charts
from ui import view

st.title("Charts")
report = view.current_report()
if report is None:
    st.stop()
if report.empty:
    view.empty_state(report)
    st.stop()


def show(result, caption: str, key: str) -> None:
    figure, data = result
    if figure is None:
        st.info(data, icon=":material/info:")
        return
    st.plotly_chart(figure, key=f"chart_{key}")
    st.caption(caption)
    st.download_button("Download this chart's data (CSV)", data.to_csv(index=False),
                       file_name=f"{key}.csv", mime="text/csv", key=f"download_{key}")


metrics = [m for m in report.metric_columns if m != "pdd"]
top, shares, series, heat = st.tabs(["Top groups", "Shares", "Over time", "Day × hour"])
with top:
    left, middle, right = st.columns([3, 1, 1])
    metric = left.selectbox("Metric", metrics, format_func=report.label, key="top_metric",
                            index=metrics.index("profit") if "profit" in metrics else 0)
    n = middle.number_input("How many", 3, 50, 10, key="top_n")
    end = right.radio("Which", ["Largest", "Smallest"], key="top_end", horizontal=True,
                      help="Smallest profit shows who lost money.")
    show(charts.top_groups(report, metric, n, smallest=end == "Smallest"),
         "Rows of the report ranked by the chosen metric; negative values in red.", "top")
with shares:
    left, right = st.columns(2)
    dimension = left.selectbox("By", list(charts.DIMENSIONS), key="share_dim",
                               format_func=lambda d: report.label(d) if d != "destination" else "Destination")
    options = [m for m in charts.SHARE_METRICS if m in report.metric_columns]
    metric = right.selectbox("Of", options, format_func=report.label, key="share_metric")
    show(charts.share(report, dimension, metric),
         "Each slice sums the report's rows for one value of the chosen dimension.", "share")
with series:
    options = [m for m in charts.SERIES_METRICS if m in report.metric_columns]
    metric = st.selectbox("Metric", options, format_func=report.label, key="series_metric")
    overlay = bool(report.compare) and st.toggle("Overlay the previous period", value=True,
                                                 key="series_previous")
    show(charts.time_series(report, metric, previous=overlay),
         "ASR and ACD are recomputed from the summed calls and durations of each period.", "series")
with heat:
    options = [m for m in ("total_calls", "answered_calls", "duration", "asr") if m in report.metric_columns]
    metric = st.selectbox("Metric", options, format_func=report.label, key="heat_metric")
    show(charts.day_hour_heatmap(report, metric), "Rows are days, columns hours of day (report time zone).",
         "heatmap")
