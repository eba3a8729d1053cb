"""MLflow's own Python client against the registry housing-flow writes (tests/mlflow.rs).

    describe NAME                 print the registered model, its versions and their runs as JSON
    predict URI ROWS.json         mlflow.pyfunc.load_model(URI).predict(rows) as a JSON list
    set-alias NAME ALIAS VERSION  move an alias, as a user would in the MLflow UI
    log-lightgbm NAME ROWS.json   train a LightGBM Booster on ROWS (column `label` is the target),
                                  log it with mlflow.lightgbm.log_model, register it as NAME and
                                  point `production` at the new version; print the version

ROWS.json is {"columns": [...], "data": [[...], ...]}. The server is $MLFLOW_TRACKING_URI.
"""

import json
import sys

import mlflow
import pandas as pd
from mlflow import MlflowClient


def rows(path):
    with open(path) as f:
        doc = json.load(f)
    return pd.DataFrame(doc["data"], columns=doc["columns"], dtype="float64")


def describe(name):
    client = MlflowClient()
    model = client.get_registered_model(name)
    versions = []
    for v in client.search_model_versions(f"name='{name}'"):
        run = client.get_run(v.run_id) if v.run_id else None
        versions.append(
            {
                "version": int(v.version),
                "source": v.source,
                "tags": v.tags,
                "run": None
                if run is None
                else {
                    "experiment": client.get_experiment(run.info.experiment_id).name,
                    "status": run.info.status,
                    "params": run.data.params,
                    "metrics": run.data.metrics,
                    "tags": {k: t for k, t in run.data.tags.items() if not k.startswith("mlflow.")},
                    "artifacts": sorted(a.path for a in client.list_artifacts(run.info.run_id, "model")),
                },
            }
        )
    print(
        json.dumps(
            {
                "aliases": {a: int(v) for a, v in model.aliases.items()},
                "tags": model.tags,
                "versions": sorted(versions, key=lambda v: v["version"]),
            }
        )
    )


def predict(uri, path):
    model = mlflow.pyfunc.load_model(uri)
    print(json.dumps([float(p) for p in model.predict(rows(path))]))


def set_alias(name, alias, version):
    MlflowClient().set_registered_model_alias(name, alias, version)


def log_lightgbm(name, path):
    import lightgbm as lgb

    df = rows(path)
    label = df.pop("label")
    params = {"objective": "regression", "num_leaves": 15, "learning_rate": 0.1, "verbose": -1, "seed": 1}
    booster = lgb.train(params, lgb.Dataset(df, label), num_boost_round=40)
    mlflow.set_experiment("python-users")
    with mlflow.start_run():
        info = mlflow.lightgbm.log_model(booster, name="model", registered_model_name=name, input_example=df.head(2))
    version = info.registered_model_version
    MlflowClient().set_registered_model_alias(name, "production", version)
    print(version)


if __name__ == "__main__":
    command, args = sys.argv[1], sys.argv[2:]
    {"describe": describe, "predict": predict, "set-alias": set_alias, "log-lightgbm": log_lightgbm}[command](*args)
