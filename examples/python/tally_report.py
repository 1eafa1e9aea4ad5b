"""A Tally report as a pandas DataFrame, with Google's own GA4 Data API client.

Nothing here is Tally-specific but the endpoint and the credentials: the client is
`google-analytics-data` (REST transport), the request is a GA4 `runReport`, and the read key
goes where Google's OAuth access token would (`Authorization: Bearer`).

    pip install google-analytics-data pandas
    python tally_report.py --endpoint http://127.0.0.1:8080 --property 123 --read-key tk_read_... \
        --dimension date --metric activeUsers --metric sessions
"""

import argparse
import os
import sys

import pandas as pd
from google.analytics.data_v1beta import BetaAnalyticsDataClient
from google.analytics.data_v1beta.types import DateRange, Dimension, Metric, OrderBy, RunReportRequest
from google.oauth2.credentials import Credentials


def report(endpoint: str, property_id: str, read_key: str, dimensions, metrics, start: str, end: str) -> pd.DataFrame:
    client = BetaAnalyticsDataClient(
        transport="rest",
        credentials=Credentials(token=read_key),
        # a scheme in the endpoint is kept: http:// for a Tally on this machine
        client_options={"api_endpoint": endpoint},
    )
    response = client.run_report(
        RunReportRequest(
            property=f"properties/{property_id}",
            dimensions=[Dimension(name=d) for d in dimensions],
            metrics=[Metric(name=m) for m in metrics],
            date_ranges=[DateRange(start_date=start, end_date=end)],
            order_bys=[OrderBy(dimension=OrderBy.DimensionOrderBy(dimension_name=d)) for d in dimensions[:1]],
            limit=100000,
        )
    )
    columns = [h.name for h in response.dimension_headers] + [h.name for h in response.metric_headers]
    types = [h.type_.name for h in response.metric_headers]
    rows = []
    for row in response.rows:
        values = [v.value for v in row.dimension_values]
        for v, t in zip(row.metric_values, types):
            values.append(int(v.value) if t == "TYPE_INTEGER" else float(v.value))
        rows.append(values)
    return pd.DataFrame(rows, columns=columns)


def main() -> int:
    p = argparse.ArgumentParser(description="Run a GA4 report against Tally and print it as a pandas DataFrame.")
    p.add_argument("--endpoint", default=os.environ.get("TALLY_URL", "http://127.0.0.1:8080"), help="Tally's base URL")
    p.add_argument("--property", required=True, help="the property id")
    p.add_argument("--read-key", default=os.environ.get("TALLY_READ_KEY"), help="a read key of the property (or TALLY_READ_KEY)")
    p.add_argument("--dimension", action="append", default=[], help="a GA4 dimension (repeatable)")
    p.add_argument("--metric", action="append", default=[], help="a GA4 metric (repeatable)")
    p.add_argument("--start", default="28daysAgo")
    p.add_argument("--end", default="today")
    p.add_argument("--json", action="store_true", help="print the DataFrame as JSON records (for scripts)")
    a = p.parse_args()
    if not a.read_key:
        p.error("a read key is needed: --read-key or TALLY_READ_KEY")
    df = report(a.endpoint, a.property, a.read_key, a.dimension, a.metric or ["activeUsers"], a.start, a.end)
    print(df.to_json(orient="records") if a.json else df.to_string(index=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
