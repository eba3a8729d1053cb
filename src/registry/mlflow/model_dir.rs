//! A version as an MLflow Model directory: the `MLmodel` file with the `lightgbm` flavour (its
//! native file is LightGBM's text format, `model.txt`) and `python_function`, the environment
//! files MLflow reads, and reading back the `MLmodel` of a model logged by Python.

use crate::registry::meta::ModelMeta;
use crate::registry::MODEL_FILE;
use serde::Deserialize;
use serde_json::json;
use std::collections::BTreeMap;

/// The MLflow Model description file.
pub const MLMODEL_FILE: &str = "MLmodel";
/// The LightGBM version this build links, written as the flavour's `lgb_version`.
const LIGHTGBM_VERSION: &str = "4.7.0";
/// The Python packages `mlflow.pyfunc` needs to load the model.
const REQUIREMENTS: &str = "mlflow\nlightgbm>=4\npandas\n";

/// The files that make the version's folder an MLflow Model, beside `model.txt`, the
/// quantile models and `meta.json`.
pub fn mlflow_files(meta: &ModelMeta, run_id: &str, model_uuid: &str) -> Result<Vec<(String, Vec<u8>)>, String> {
    let inputs: Vec<_> =
        meta.features.iter().map(|f| json!({"type": "double", "name": f.name, "required": true})).collect();
    let mlmodel = json!({
        "artifact_path": "model",
        "flavors": {
            "lightgbm": {
                "code": null,
                "data": MODEL_FILE,
                "lgb_version": LIGHTGBM_VERSION,
                "model_class": "lightgbm.basic.Booster",
            },
            "python_function": {
                "data": MODEL_FILE,
                "env": {"conda": "conda.yaml", "virtualenv": "python_env.yaml"},
                "loader_module": "mlflow.lightgbm",
                "python_version": "3.11",
            },
        },
        "metadata": {
            "housing_flow_version": env!("CARGO_PKG_VERSION"),
            "model": meta.name,
            "version": meta.version,
            "label": meta.label,
            "quantiles": meta.quantiles.iter().map(|q| json!({"alpha": q.alpha, "file": q.file})).collect::<Vec<_>>(),
        },
        "model_uuid": model_uuid,
        "run_id": run_id,
        "signature": {
            "inputs": serde_json::to_string(&inputs).map_err(|e| e.to_string())?,
            "outputs": r#"[{"type": "double", "required": true}]"#,
            "params": null,
        },
        "utc_time_created": meta.created,
    });
    let yaml = |v: &serde_json::Value| serde_yaml_ng::to_string(v).map_err(|e| e.to_string());
    let conda = json!({
        "channels": ["conda-forge"],
        "dependencies": ["python=3.11", "pip", {"pip": REQUIREMENTS.lines().collect::<Vec<_>>()}],
        "name": "mlflow-env",
    });
    let python_env = json!({
        "python": "3.11",
        "build_dependencies": ["pip"],
        "dependencies": ["-r requirements.txt"],
    });
    Ok(vec![
        (MLMODEL_FILE.to_string(), yaml(&mlmodel)?.into_bytes()),
        ("conda.yaml".to_string(), yaml(&conda)?.into_bytes()),
        ("python_env.yaml".to_string(), yaml(&python_env)?.into_bytes()),
        ("requirements.txt".to_string(), REQUIREMENTS.as_bytes().to_vec()),
    ])
}

/// The part of an `MLmodel` file housing-flow reads.
#[derive(Debug, Deserialize)]
struct MlModel {
    #[serde(default)]
    flavors: BTreeMap<String, serde_yaml_ng::Value>,
}

/// The LightGBM file of a model another tool logged with the `lightgbm` flavour.
pub fn lightgbm_data_file(mlmodel: &[u8]) -> Result<String, String> {
    let parsed: MlModel = serde_yaml_ng::from_slice(mlmodel).map_err(|e| format!("cannot read MLmodel: {e}"))?;
    let Some(flavor) = parsed.flavors.get("lightgbm") else {
        let flavors: Vec<&str> = parsed.flavors.keys().map(String::as_str).collect();
        return Err(format!(
            "it is not a LightGBM model: its MLmodel has the flavours [{}], not `lightgbm`",
            flavors.join(", ")
        ));
    };
    let text = |key: &str| flavor.get(key).and_then(|v| v.as_str()).map(str::to_string);
    let class = text("model_class").unwrap_or_else(|| "lightgbm.basic.Booster".to_string());
    if class != "lightgbm.basic.Booster" {
        return Err(format!(
            "its model class is `{class}`; housing-flow serves LightGBM Boosters saved in LightGBM's text format \
             (log `model.booster_` with mlflow.lightgbm.log_model)"
        ));
    }
    text("data").ok_or_else(|| "its `lightgbm` flavour names no data file".to_string())
}

/// The feature names in a LightGBM text model's header (`feature_names=a b c`).
pub fn feature_names(model_text: &str) -> Option<Vec<String>> {
    model_text
        .lines()
        .take_while(|l| !l.starts_with("Tree="))
        .find_map(|l| l.strip_prefix("feature_names="))
        .map(|names| names.split_whitespace().map(str::to_string).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_python_mlmodel_names_its_data_file() {
        let mlmodel = b"flavors:\n  lightgbm:\n    code: null\n    data: model.lgb\n    model_class: lightgbm.basic.Booster\n  python_function:\n    loader_module: mlflow.lightgbm\n";
        assert_eq!(lightgbm_data_file(mlmodel).unwrap(), "model.lgb");
        let sklearn = b"flavors:\n  lightgbm:\n    data: model.pkl\n    model_class: lightgbm.sklearn.LGBMRegressor\n";
        assert!(lightgbm_data_file(sklearn).unwrap_err().contains("LGBMRegressor"));
        let other = b"flavors:\n  sklearn:\n    pickled_model: model.pkl\n";
        assert!(lightgbm_data_file(other).unwrap_err().contains("[sklearn]"));
    }

    #[test]
    fn feature_names_come_from_the_header() {
        let text = "tree\nversion=v4\nfeature_names=a b c\nfeature_infos=[0:1]\n\nTree=0\nfeature_names=x\n";
        assert_eq!(feature_names(text).unwrap(), ["a", "b", "c"]);
        assert_eq!(feature_names("tree\nTree=0\n"), None);
    }
}
