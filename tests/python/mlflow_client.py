"""MLflow's own scoring client against a running housing-flow server.

Usage: python mlflow_client.py HOST PORT ROWS.json
ROWS.json holds houses (objects keyed by schema field). Prints one JSON object:
{"version": ..., "plain": [...], "with_params": [...], "with_extra_column": [...]}
with the predictions MLflow's client received for a DataFrame of those rows, the same
DataFrame with `params`, and with a column the model does not have. Any failure of the
client (a non-200 answer, an unparseable one) raises and exits non-zero.
"""

import json
import sys

import pandas as pd
from mlflow.pyfunc.scoring_server.client import ScoringServerClient


def predictions(response):
    return [float(p) for p in response["predictions"]]


def main():
    host, port, rows_path = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    with open(rows_path) as f:
        rows = json.load(f)
    client = ScoringServerClient(host, port)
    client.wait_server_ready(timeout=30)
    client.ping()
    version = client.get_version()
    frame = pd.DataFrame(rows)
    plain = predictions(client.invoke(frame))
    with_params = predictions(client.invoke(frame, params={"temperature": 0.5}))
    extra = frame.assign(listing_agent="someone")
    with_extra = predictions(client.invoke(extra))
    print(json.dumps({
        "version": version,
        "plain": plain,
        "with_params": with_params,
        "with_extra_column": with_extra,
    }))


if __name__ == "__main__":
    main()
