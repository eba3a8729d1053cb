//! The MLflow backend: versions are MLflow model versions of a registered model, `production`
//! and `candidate` are its aliases, and every `register` is a training run in an experiment
//! (parameters, holdout metrics, the training data hash, and the version's files as the
//! artifacts of a real MLflow Model, uploaded through the server's artifact proxy).
//!
//! A version registered by housing-flow carries `meta.json` and the model version tag
//! `housing_flow.meta_sha256`; every file is checked against its checksum before it is served.
//! A version logged by someone else with `mlflow.lightgbm.log_model` has no `meta.json`: it is
//! described from its `MLmodel` file and LightGBM's own feature names instead.

mod model_dir;
mod rest;

pub use model_dir::MLMODEL_FILE;

use super::error::{RegistryError, Result};
use super::history::{self, HistoryEntry, MoveAction};
use super::meta::{HoldoutMetrics, ModelMeta, TrainingInfo};
use super::verify::{sha256_hex, META_FILE, MODEL_FILE};
use super::{validate, LoadedVersion, ModelSummary, Pointer, Registry, VersionInfo, VersionStatus};
use rest::{CallError, Rest};
use serde_json::{json, Value};
use std::collections::BTreeMap;

/// The experiment training runs go to when the file names none.
pub const DEFAULT_EXPERIMENT: &str = "housing-flow";
/// The tracking server when neither the file nor `MLFLOW_TRACKING_URI` names one (MLflow's default port).
pub const DEFAULT_URL: &str = "http://127.0.0.1:5000";
/// Model version tag holding the SHA-256 of the version's `meta.json`.
pub const META_SHA_TAG: &str = "housing_flow.meta_sha256";
/// Registered model tag holding the production moves, as JSON.
const HISTORY_TAG: &str = "housing_flow.history";
/// Model version tag recording why production was rolled back from it.
const ROLLED_BACK_TAG: &str = "housing_flow.rolled_back";
/// The artifact folder of a run that holds the model.
const MODEL_ARTIFACT: &str = "model";
/// Production moves kept in the history tag (MLflow caps tag values).
const HISTORY_KEPT: usize = 100;
/// MLflow's cap on parameters per `log-batch` call.
const PARAMS_PER_BATCH: usize = 100;

/// The tracking URL: the one written in the file, else `MLFLOW_TRACKING_URI`, else MLflow's default.
pub fn tracking_url(written: Option<&str>) -> String {
    written
        .map(str::to_string)
        .or_else(|| std::env::var("MLFLOW_TRACKING_URI").ok().filter(|u| !u.trim().is_empty()))
        .unwrap_or_else(|| DEFAULT_URL.to_string())
        .trim_end_matches('/')
        .to_string()
}

/// A registry on an MLflow tracking server (started with `--serve-artifacts`).
#[derive(Clone, Debug)]
pub struct MlflowRegistry {
    rest: Rest,
    experiment: String,
}

impl Pointer {
    /// The MLflow alias of a pointer.
    fn alias(self) -> &'static str {
        match self {
            Pointer::Production => "production",
            Pointer::Candidate => "candidate",
        }
    }
}

impl MlflowRegistry {
    /// A registry at `url` logging training runs to `experiment`; nothing is contacted yet.
    pub fn new(url: &str, experiment: &str) -> Result<MlflowRegistry> {
        if !(url.starts_with("http://") || url.starts_with("https://")) {
            return Err(RegistryError::Unreachable {
                location: url.to_string(),
                reason: format!("`{url}` is not an http:// or https:// URL of an MLflow tracking server"),
            });
        }
        let rest = Rest::new(url).map_err(|reason| RegistryError::Unreachable { location: url.into(), reason })?;
        Ok(MlflowRegistry { rest, experiment: experiment.to_string() })
    }

    /// The version an alias names, if the model and the alias exist. (Asking for one missing
    /// alias is an INVALID_PARAMETER_VALUE error in MLflow, so the model's alias list is read.)
    pub fn alias(&self, name: &str, pointer: Pointer) -> Result<Option<u32>> {
        Ok(match self.registered_model(name)? {
            Some(model) => aliases(&model["aliases"]).get(pointer.alias()).copied(),
            None => None,
        })
    }

    /// Points an alias at a version.
    pub fn set_alias(&self, name: &str, pointer: Pointer, version: u32) -> Result<()> {
        let body = json!({"name": name, "alias": pointer.alias(), "version": version.to_string()});
        self.rest
            .post("registered-models/alias", &body)
            .map(drop)
            .map_err(|e| self.error(format!("set the alias `{}` of `{name}` to {version}", pointer.alias()), e))
    }

    /// The run id and artifact path (relative to the server's artifact root) of a version's model folder.
    fn artifact_path(&self, name: &str, version: u32) -> Result<String> {
        let v = version.to_string();
        let answer = match self.rest.get("model-versions/get-download-uri", &[("name", name), ("version", &v)]) {
            Ok(a) => a,
            Err(e) if e.is_not_found() => return Err(self.version_not_found(name, version)),
            Err(e) => return Err(self.error(format!("find the artifacts of `{name}` version {version}"), e)),
        };
        let uri = answer["artifact_uri"].as_str().unwrap_or_default();
        proxied_path(uri).ok_or_else(|| RegistryError::Unservable {
            name: name.into(),
            version,
            reason: format!(
                "its artifacts are at `{uri}`, which the tracking server does not proxy; start it with --serve-artifacts"
            ),
        })
    }

    /// The tags of a model version.
    fn version_tags(&self, name: &str, version: u32) -> Result<BTreeMap<String, String>> {
        let v = version.to_string();
        match self.rest.get("model-versions/get", &[("name", name), ("version", &v)]) {
            Ok(answer) => Ok(tags(&answer["model_version"]["tags"])),
            Err(e) if e.is_not_found() => Err(self.version_not_found(name, version)),
            Err(e) => Err(self.error(format!("read `{name}` version {version}"), e)),
        }
    }

    fn set_version_tag(&self, name: &str, version: u32, key: &str, value: &str) -> Result<()> {
        let body = json!({"name": name, "version": version.to_string(), "key": key, "value": value});
        self.rest
            .post("model-versions/set-tag", &body)
            .map(drop)
            .map_err(|e| self.error(format!("tag `{name}` version {version}"), e))
    }

    /// The experiment's id, creating it when it does not exist.
    fn experiment_id(&self) -> Result<String> {
        let get = || self.rest.get("experiments/get-by-name", &[("experiment_name", &self.experiment)]);
        let action = || format!("find or create the experiment `{}`", self.experiment);
        match get() {
            Ok(v) => return Ok(v["experiment"]["experiment_id"].as_str().unwrap_or_default().to_string()),
            Err(e) if e.is_not_found() => {}
            Err(e) => return Err(self.error(action(), e)),
        }
        match self.rest.post("experiments/create", &json!({"name": self.experiment})) {
            Ok(v) => Ok(v["experiment_id"].as_str().unwrap_or_default().to_string()),
            // Another process created it in between.
            Err(e) if e.is_already_exists() => get()
                .map(|v| v["experiment"]["experiment_id"].as_str().unwrap_or_default().to_string())
                .map_err(|e| self.error(action(), e)),
            Err(e) => Err(self.error(action(), e)),
        }
    }

    /// Registers the model name unless it exists.
    fn ensure_registered_model(&self, name: &str) -> Result<()> {
        let body = json!({"name": name, "description": "Registered by housing-flow."});
        match self.rest.post("registered-models/create", &body) {
            Ok(_) => Ok(()),
            Err(e) if e.is_already_exists() => Ok(()),
            Err(e) => Err(self.error(format!("register the model `{name}`"), e)),
        }
    }

    /// The registered model's tags and aliases (alias → version); `None` when it is not registered.
    fn registered_model(&self, name: &str) -> Result<Option<Value>> {
        match self.rest.get("registered-models/get", &[("name", name)]) {
            Ok(v) => Ok(Some(v["registered_model"].clone())),
            Err(e) if e.is_not_found() => Ok(None),
            Err(e) => Err(self.error(format!("read the registered model `{name}`"), e)),
        }
    }

    fn version_numbers(&self, name: &str) -> Result<Vec<u32>> {
        let filter = format!("name='{}'", name.replace('\'', "\\'"));
        let mut out = Vec::new();
        for page in self.pages(
            "model-versions/search",
            &[("filter", filter.as_str())],
            &format!("list the versions of `{name}`"),
        )? {
            for v in page["model_versions"].as_array().into_iter().flatten() {
                out.push(version_number(&v["version"], name)?);
            }
        }
        out.sort_unstable();
        out.dedup();
        Ok(out)
    }

    /// Every page of a search, following `next_page_token`, 1,000 results a page.
    fn pages(&self, path: &str, query: &[(&str, &str)], action: &str) -> Result<Vec<Value>> {
        let mut pages = Vec::new();
        let mut token = String::new();
        loop {
            let mut q: Vec<(&str, &str)> = query.to_vec();
            q.push(("max_results", "1000"));
            if !token.is_empty() {
                q.push(("page_token", token.as_str()));
            }
            let page = self.rest.get(path, &q).map_err(|e| self.error(action, e))?;
            let next = page["next_page_token"].as_str().unwrap_or_default().to_string();
            pages.push(page);
            if next.is_empty() {
                return Ok(pages);
            }
            token = next;
        }
    }

    fn append_history(&self, name: &str, entry: HistoryEntry) -> Result<()> {
        let mut entries = self.history(name)?;
        entries.push(entry);
        let keep_from = entries.len().saturating_sub(HISTORY_KEPT);
        let value = serde_json::to_string(&entries[keep_from..]).unwrap_or_else(|_| "[]".into());
        let body = json!({"name": name, "key": HISTORY_TAG, "value": value});
        self.rest
            .post("registered-models/set-tag", &body)
            .map(drop)
            .map_err(|e| self.error(format!("record the production move of `{name}`"), e))
    }

    /// Logs the training run and uploads the files; returns the run id.
    fn log_run(&self, name: &str, meta: &ModelMeta) -> Result<(String, String)> {
        let experiment_id = self.experiment_id()?;
        let now = now_millis();
        let body = json!({
            "experiment_id": experiment_id,
            "run_name": format!("train {name}"),
            "start_time": now,
            "tags": [
                {"key": "mlflow.source.name", "value": "housing-flow train"},
                {"key": "mlflow.source.type", "value": "LOCAL"},
                {"key": "housing_flow.model", "value": name},
                {"key": "housing_flow.data_hash", "value": meta.training.data_hash},
            ],
        });
        let run = self.rest.post("runs/create", &body).map_err(|e| self.error("start a training run", e))?;
        let run_id = run["run"]["info"]["run_id"].as_str().unwrap_or_default().to_string();
        let artifact_uri = run["run"]["info"]["artifact_uri"].as_str().unwrap_or_default().to_string();
        let Some(artifacts) = proxied_path(&artifact_uri) else {
            return Err(RegistryError::Server {
                location: self.location(),
                action: "store artifacts".into(),
                reason: format!(
                    "the run's artifacts go to `{artifact_uri}`, which the server does not proxy; \
                     start it with --serve-artifacts (and no --default-artifact-root outside it)"
                ),
            });
        };
        let params = run_params(meta);
        let metrics = run_metrics(&meta.metrics, meta.training.seconds, now);
        for (i, chunk) in params.chunks(PARAMS_PER_BATCH).enumerate() {
            let metrics = if i == 0 { metrics.clone() } else { Vec::new() };
            let body = json!({"run_id": run_id, "params": chunk, "metrics": metrics, "tags": []});
            self.rest.post("runs/log-batch", &body).map_err(|e| self.error("log the run's parameters", e))?;
        }
        Ok((run_id, format!("{artifacts}/{MODEL_ARTIFACT}")))
    }

    fn finish_run(&self, run_id: &str, status: &str) {
        let body = json!({"run_id": run_id, "status": status, "end_time": now_millis()});
        if let Err(e) = self.rest.post("runs/update", &body) {
            tracing::warn!("MLflow: cannot mark run {run_id} {status}: {e}");
        }
    }

    fn register_logged(
        &self,
        name: &str,
        files: &[(String, Vec<u8>)],
        mut meta: ModelMeta,
        run_id: &str,
        folder: &str,
    ) -> Result<u32> {
        self.ensure_registered_model(name)?;
        let source = format!("mlflow-artifacts:/{folder}");
        let body = json!({
            "name": name,
            "source": source,
            "run_id": run_id,
            "description": format!("{} rows from {}", meta.training.rows, meta.training.source),
        });
        let created = self
            .rest
            .post("model-versions/create", &body)
            .map_err(|e| self.error(format!("create a version of `{name}`"), e))?;
        let version = version_number(&created["model_version"]["version"], name)?;
        meta.version = version;
        let meta_json = serde_json::to_vec_pretty(&meta)
            .map_err(|e| RegistryError::InvalidMeta { name: name.to_string(), reason: e.to_string() })?;
        let mut all: Vec<(String, Vec<u8>)> = files.to_vec();
        all.push((META_FILE.to_string(), meta_json.clone()));
        all.extend(
            model_dir::mlflow_files(&meta, run_id, &format!("{run_id}-{version}"))
                .map_err(|reason| RegistryError::InvalidMeta { name: name.to_string(), reason })?,
        );
        for (file, bytes) in all {
            self.rest
                .put_artifact(&format!("{folder}/{file}"), bytes)
                .map_err(|e| self.error(format!("upload `{file}` of `{name}` version {version}"), e))?;
        }
        // The checksum tag comes last: a version without it is never served.
        self.set_version_tag(name, version, META_SHA_TAG, &sha256_hex(&meta_json))?;
        if self.alias(name, Pointer::Candidate)?.is_none_or(|c| c < version) {
            self.set_alias(name, Pointer::Candidate, version)?;
        }
        if self.alias(name, Pointer::Production)?.is_none() {
            self.set_alias(name, Pointer::Production, version)?;
            self.append_history(
                name,
                history::move_entry(None, version, MoveAction::Initial, "first version of the model"),
            )?;
        }
        Ok(version)
    }

    /// A version logged by another tool: its `MLmodel`, its LightGBM file, and a description made from them.
    fn load_foreign(&self, name: &str, version: u32, folder: &str, listed: &[(String, bool)]) -> Result<LoadedVersion> {
        let unservable = |reason: String| RegistryError::Unservable { name: name.into(), version, reason };
        if !listed.iter().any(|(f, _)| f == MLMODEL_FILE) {
            return Err(unservable(format!(
                "its artifacts (mlflow-artifacts:/{folder}) hold neither meta.json nor an MLmodel file"
            )));
        }
        let mlmodel = self.download(name, version, folder, MLMODEL_FILE)?;
        let data = model_dir::lightgbm_data_file(&mlmodel).map_err(unservable)?;
        let model = self.download(name, version, folder, &data)?;
        let text =
            std::str::from_utf8(&model).map_err(|_| unservable(format!("`{data}` is not LightGBM's text format")))?;
        let features = model_dir::feature_names(text)
            .ok_or_else(|| unservable(format!("`{data}` names no features (no `feature_names=` line)")))?;
        let meta = ModelMeta {
            name: name.to_string(),
            version,
            created: String::new(),
            features: features
                .into_iter()
                .map(|name| super::meta::FeatureMeta { name, kind: crate::program::FeatureType::Numeric })
                .collect(),
            categories: BTreeMap::new(),
            label: String::new(),
            params: BTreeMap::new(),
            quantiles: Vec::new(),
            training: TrainingInfo {
                source: format!("logged to MLflow outside housing-flow (mlflow-artifacts:/{folder})"),
                data_hash: String::new(),
                rows: 0,
                train_rows: 0,
                holdout_rows: 0,
                seed: 0,
                seconds: 0.0,
            },
            metrics: HoldoutMetrics {
                r2: f64::NAN,
                rmse: f64::NAN,
                mae: f64::NAN,
                coverage: None,
                nominal_coverage: None,
                baseline_r2: f64::NAN,
                baseline_rmse: f64::NAN,
                baseline_mae: f64::NAN,
            },
            baselines: BTreeMap::new(),
            checksums: BTreeMap::from([(MODEL_FILE.to_string(), sha256_hex(&model))]),
            external: true,
        };
        Ok(LoadedVersion { meta, files: BTreeMap::from([(MODEL_FILE.to_string(), model)]) })
    }

    fn download(&self, name: &str, version: u32, folder: &str, file: &str) -> Result<Vec<u8>> {
        self.rest.get_artifact(&format!("{folder}/{file}")).map_err(|e| match e {
            e @ CallError::Unreachable(_) => self.error(format!("download `{file}` of `{name}` version {version}"), e),
            e => RegistryError::Corrupt {
                name: name.into(),
                version,
                file: file.into(),
                reason: format!("cannot download it: {e}"),
                path: format!("mlflow-artifacts:/{folder}").into(),
            },
        })
    }

    fn version_not_found(&self, name: &str, version: u32) -> RegistryError {
        RegistryError::VersionNotFound { name: name.into(), version, path: self.location().into() }
    }

    fn error(&self, action: impl Into<String>, e: CallError) -> RegistryError {
        match e {
            CallError::Unreachable(reason) => RegistryError::Unreachable { location: self.location(), reason },
            e => RegistryError::Server { location: self.location(), action: action.into(), reason: e.to_string() },
        }
    }
}

impl Registry for MlflowRegistry {
    fn location(&self) -> String {
        self.rest.base().to_string()
    }

    fn check_reachable(&self) -> Result<()> {
        self.rest
            .get("experiments/search", &[("max_results", "1")])
            .map(drop)
            .map_err(|e| self.error("list experiments", e))
    }

    fn register(&self, name: &str, files: &[(String, Vec<u8>)], meta: ModelMeta) -> Result<u32> {
        let meta = validate::prepare(name, files, meta)?;
        let (run_id, folder) = self.log_run(name, &meta)?;
        let registered = self.register_logged(name, files, meta, &run_id, &folder);
        self.finish_run(&run_id, if registered.is_ok() { "FINISHED" } else { "FAILED" });
        registered
    }

    fn list(&self) -> Result<Vec<ModelSummary>> {
        let mut names = Vec::new();
        for page in self.pages("registered-models/search", &[], "list registered models")? {
            for m in page["registered_models"].as_array().into_iter().flatten() {
                if let Some(n) = m["name"].as_str() {
                    names.push((n.to_string(), aliases(&m["aliases"])));
                }
            }
        }
        let mut out = Vec::new();
        for (name, aliases) in names {
            out.push(ModelSummary {
                versions: self.version_numbers(&name)?,
                production: aliases.get("production").copied(),
                candidate: aliases.get("candidate").copied(),
                name,
            });
        }
        out.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(out)
    }

    fn versions(&self, name: &str) -> Result<Vec<VersionInfo>> {
        let Some(model) = self.registered_model(name)? else {
            return Err(RegistryError::ModelNotFound { name: name.into(), path: self.location().into() });
        };
        let aliases = aliases(&model["aliases"]);
        let mut out = Vec::new();
        for version in self.version_numbers(name)? {
            let (created, metrics, status) = match self.load(name, version) {
                Ok(v) => (Some(v.meta.created).filter(|c| !c.is_empty()), Some(v.meta.metrics), VersionStatus::Ok),
                Err(RegistryError::Corrupt { file, reason, .. }) => {
                    (None, None, VersionStatus::Corrupt { file, reason })
                }
                Err(RegistryError::Unservable { reason, .. }) => {
                    (None, None, VersionStatus::Corrupt { file: MLMODEL_FILE.into(), reason })
                }
                Err(e) => return Err(e),
            };
            let pointers = [Pointer::Production, Pointer::Candidate]
                .into_iter()
                .filter(|p| aliases.get(p.alias()) == Some(&version))
                .collect();
            out.push(VersionInfo { version, created, metrics, pointers, status });
        }
        Ok(out)
    }

    fn meta(&self, name: &str, version: u32) -> Result<ModelMeta> {
        let folder = self.artifact_path(name, version)?;
        let listed = self
            .rest
            .list_artifacts(&folder)
            .map_err(|e| self.error(format!("list the artifacts of `{name}` version {version}"), e))?;
        if !listed.iter().any(|(f, _)| f == META_FILE) {
            return Ok(self.load_foreign(name, version, &folder, &listed)?.meta);
        }
        let bytes = self.download(name, version, &folder, META_FILE)?;
        let mut meta: ModelMeta = serde_json::from_slice(&bytes).map_err(|e| RegistryError::Corrupt {
            name: name.into(),
            version,
            file: META_FILE.into(),
            reason: format!("cannot parse it: {e}"),
            path: format!("mlflow-artifacts:/{folder}").into(),
        })?;
        meta.name = name.to_string();
        meta.version = version;
        Ok(meta)
    }

    fn load(&self, name: &str, version: u32) -> Result<LoadedVersion> {
        let tags = self.version_tags(name, version)?;
        let folder = self.artifact_path(name, version)?;
        let listed = self
            .rest
            .list_artifacts(&folder)
            .map_err(|e| self.error(format!("list the artifacts of `{name}` version {version}"), e))?;
        if !listed.iter().any(|(f, _)| f == META_FILE) {
            return self.load_foreign(name, version, &folder, &listed);
        }
        let corrupt = |file: &str, reason: String| RegistryError::Corrupt {
            name: name.into(),
            version,
            file: file.into(),
            reason,
            path: format!("mlflow-artifacts:/{folder}").into(),
        };
        let meta_bytes = self.download(name, version, &folder, META_FILE)?;
        match tags.get(META_SHA_TAG) {
            None => {
                return Err(corrupt(
                    META_FILE,
                    format!("the version has no `{META_SHA_TAG}` tag (its upload did not finish)"),
                ))
            }
            Some(expected) if *expected != sha256_hex(&meta_bytes) => {
                return Err(corrupt(META_FILE, format!("its SHA-256 is not the one in the `{META_SHA_TAG}` tag")))
            }
            Some(_) => {}
        }
        let mut meta: ModelMeta =
            serde_json::from_slice(&meta_bytes).map_err(|e| corrupt(META_FILE, format!("cannot parse it: {e}")))?;
        meta.name = name.to_string();
        meta.version = version;
        let mut files = BTreeMap::new();
        for (file, expected) in &meta.checksums {
            let bytes = self.download(name, version, &folder, file)?;
            if sha256_hex(&bytes) != *expected {
                return Err(corrupt(file, "its SHA-256 does not match meta.json".into()));
            }
            files.insert(file.clone(), bytes);
        }
        Ok(LoadedVersion { meta, files })
    }

    fn production(&self, name: &str) -> Result<Option<u32>> {
        self.alias(name, Pointer::Production)
    }

    fn candidate(&self, name: &str) -> Result<Option<u32>> {
        self.alias(name, Pointer::Candidate)
    }

    fn history(&self, name: &str) -> Result<Vec<HistoryEntry>> {
        let Some(model) = self.registered_model(name)? else { return Ok(Vec::new()) };
        Ok(tags(&model["tags"]).get(HISTORY_TAG).and_then(|h| serde_json::from_str(h).ok()).unwrap_or_default())
    }

    fn promote(&self, name: &str, version: u32, reason: &str) -> Result<()> {
        self.load(name, version)?;
        let from = self.production(name)?;
        if from == Some(version) {
            return Ok(());
        }
        self.set_alias(name, Pointer::Production, version)?;
        self.append_history(name, history::move_entry(from, version, MoveAction::Promote, reason))
    }

    fn rollback(&self, name: &str, reason: &str) -> Result<u32> {
        let current = self.production(name)?.ok_or_else(|| RegistryError::NoProduction { name: name.to_string() })?;
        let mut stack = history::production_stack(&self.history(name)?);
        let mut skipped = Vec::new();
        let target = loop {
            match stack.pop() {
                None => return Err(RegistryError::NoRollbackTarget { name: name.to_string(), skipped }),
                Some(v) if v == current || skipped.contains(&v) => {}
                Some(v) => match self.load(name, v) {
                    Ok(_) => break v,
                    Err(
                        RegistryError::Corrupt { .. }
                        | RegistryError::VersionNotFound { .. }
                        | RegistryError::Unservable { .. },
                    ) => skipped.push(v),
                    Err(e) => return Err(e),
                },
            }
        };
        self.set_alias(name, Pointer::Production, target)?;
        self.set_version_tag(name, current, ROLLED_BACK_TAG, reason)?;
        self.append_history(name, history::move_entry(Some(current), target, MoveAction::Rollback, reason))?;
        Ok(target)
    }
}

/// The path under the server's artifact root of an `mlflow-artifacts:` URI.
fn proxied_path(uri: &str) -> Option<String> {
    let rest = uri.strip_prefix("mlflow-artifacts:")?;
    // `mlflow-artifacts://host:port/path` names a server; the path is what follows it.
    let path = match rest.strip_prefix("//") {
        Some(with_host) => with_host.split_once('/').map_or("", |(_, p)| p),
        None => rest,
    };
    Some(path.trim_matches('/').to_string()).filter(|p| !p.is_empty())
}

fn version_number(v: &Value, name: &str) -> Result<u32> {
    let parsed = match v {
        Value::String(s) => s.parse().ok(),
        Value::Number(n) => n.as_u64().and_then(|n| u32::try_from(n).ok()),
        _ => None,
    };
    parsed.ok_or_else(|| RegistryError::InvalidMeta {
        name: name.into(),
        reason: format!("MLflow answered a version that is not a number: {v}"),
    })
}

/// `[{"key", "value"}]` → map.
fn tags(v: &Value) -> BTreeMap<String, String> {
    v.as_array()
        .into_iter()
        .flatten()
        .filter_map(|t| Some((t["key"].as_str()?.to_string(), t["value"].as_str()?.to_string())))
        .collect()
}

/// `[{"alias", "version"}]` → alias → version.
fn aliases(v: &Value) -> BTreeMap<String, u32> {
    v.as_array()
        .into_iter()
        .flatten()
        .filter_map(|a| Some((a["alias"].as_str()?.to_string(), a["version"].as_str()?.parse().ok()?)))
        .collect()
}

/// The run's parameters: LightGBM's, then what the model was trained on.
fn run_params(meta: &ModelMeta) -> Vec<Value> {
    let mut params: Vec<(String, String)> = meta.params.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
    let features: Vec<&str> = meta.features.iter().map(|f| f.name.as_str()).collect();
    let quantiles: Vec<String> = meta.quantiles.iter().map(|q| q.alpha.to_string()).collect();
    params.extend([
        ("housing_flow.features".to_string(), features.join(",")),
        ("housing_flow.label".to_string(), meta.label.clone()),
        ("housing_flow.quantiles".to_string(), quantiles.join(",")),
        ("housing_flow.training_source".to_string(), meta.training.source.clone()),
        ("housing_flow.training_rows".to_string(), meta.training.rows.to_string()),
        ("housing_flow.holdout_rows".to_string(), meta.training.holdout_rows.to_string()),
        ("housing_flow.seed".to_string(), meta.training.seed.to_string()),
    ]);
    params.into_iter().map(|(k, v)| json!({"key": k, "value": v})).collect()
}

/// The holdout metrics as MLflow metrics (finite values only; MLflow rejects NaN).
fn run_metrics(m: &HoldoutMetrics, seconds: f64, timestamp: u128) -> Vec<Value> {
    let values = [
        ("holdout_r2", Some(m.r2)),
        ("holdout_rmse", Some(m.rmse)),
        ("holdout_mae", Some(m.mae)),
        ("holdout_interval_coverage", m.coverage),
        ("nominal_interval_coverage", m.nominal_coverage),
        ("baseline_r2", Some(m.baseline_r2)),
        ("baseline_rmse", Some(m.baseline_rmse)),
        ("baseline_mae", Some(m.baseline_mae)),
        ("train_seconds", Some(seconds)),
    ];
    values
        .into_iter()
        .filter_map(|(k, v)| {
            v.filter(|v| v.is_finite()).map(|v| json!({"key": k, "value": v, "timestamp": timestamp as u64, "step": 0}))
        })
        .collect()
}

fn now_millis() -> u128 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proxied_artifact_uris_become_paths() {
        assert_eq!(proxied_path("mlflow-artifacts:/1/abc/artifacts/model").as_deref(), Some("1/abc/artifacts/model"));
        assert_eq!(proxied_path("mlflow-artifacts://host:5000/1/abc/artifacts").as_deref(), Some("1/abc/artifacts"));
        assert_eq!(proxied_path("s3://bucket/1/abc"), None);
        assert_eq!(proxied_path("mlflow-artifacts:/"), None);
    }

    #[test]
    fn the_tracking_url_prefers_the_file() {
        assert_eq!(tracking_url(Some("http://h:1/")), "http://h:1");
    }

    #[test]
    fn aliases_and_tags_parse() {
        let v = json!([{"alias": "production", "version": "3"}, {"alias": "bad", "version": "x"}]);
        assert_eq!(aliases(&v), BTreeMap::from([("production".to_string(), 3)]));
        let t = json!([{"key": "a", "value": "b"}]);
        assert_eq!(tags(&t)["a"], "b");
        assert_eq!(version_number(&json!("12"), "m").unwrap(), 12);
        assert!(version_number(&json!("x"), "m").is_err());
    }
}
