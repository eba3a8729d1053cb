use super::*;
use crate::data::generator::Generator;
use crate::model::serving::{Prediction, ServingModel};
use crate::model::train::{train, TrainOptions};
use crate::plan::ModelPlan;
use crate::registry::DirectoryRegistry;
use axum::body::Body;
use axum::http::{Method, Request};
use proptest::prelude::*;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use tower::ServiceExt;

const LIMIT: usize = 64 * 1024;

/// The seed payload exactly as PRODUCT.md's curl sends it.
const SEED: &str = r#"{
  "Avg_Area_Income": 65000, "Avg_Area_House_Age": 7.5, "Avg_Area_Number_of_Rooms": 6.0,
  "Avg_Area_Number_of_Bedrooms": 3.0, "Area_Population": 42000, "Address": "123 Main St, Austin, TX 78701"}"#;

/// `pipelines/main.hf`'s model and schema, with one small model trained into a temp
/// registry once for every test (training is the slow part).
fn trained() -> &'static (ModelPlan, Schema, PathBuf) {
    static TRAINED: OnceLock<(ModelPlan, Schema, PathBuf)> = OnceLock::new();
    TRAINED.get_or_init(|| {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("pipelines/main.hf");
        let program = crate::check::check_file(&path).expect("readable").program.expect("checks");
        let plan = crate::plan::lower(&program, 1);
        let schema = plan
            .dataflows
            .iter()
            .flat_map(|d| &d.operators)
            .find_map(|o| match &o.kind {
                crate::plan::OperatorKind::Validate { schema } => Some(schema.clone()),
                _ => None,
            })
            .expect("the pipeline validates");
        let model = plan.models[0].clone();
        let dir = std::env::temp_dir().join(format!("hf-serve-tests-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let events = Generator::new(&schema, 7).unwrap().rows(2000);
        let t = train(&model, &events, &TrainOptions { source: "test".into(), seed: 7 }).unwrap();
        DirectoryRegistry::open(&dir).register(&model.model.name, &t.files, t.meta).unwrap();
        (model, schema, dir)
    })
}

fn state(store: Option<Arc<PredictionStore>>) -> Arc<AppState> {
    state_with(store, None)
}

fn state_with(store: Option<Arc<PredictionStore>>, stats: Option<Arc<Stats>>) -> Arc<AppState> {
    let (model, schema, dir) = trained();
    let registry: Arc<dyn Registry> = Arc::new(DirectoryRegistry::open(dir));
    let serving =
        ServingModel::production(registry.as_ref(), &model.model.name, &model.features, model.model.predictor).unwrap();
    Arc::new(AppState {
        schema: schema.clone(),
        handle: Arc::new(ModelHandle::new(serving)),
        store,
        registry,
        model_name: model.model.name.clone(),
        next_id: AtomicU64::new(FIRST_HTTP_ID),
        stats,
        http: HttpMetrics::default(),
        drift: None,
        workers: None,
        slos: None,
        admission: Default::default(),
    })
}

async fn send(
    router: &Router,
    method: Method,
    uri: &str,
    content_type: Option<&str>,
    body: impl Into<Vec<u8>>,
) -> (StatusCode, Value) {
    let mut request = Request::builder().method(method).uri(uri);
    if let Some(t) = content_type {
        request = request.header(header::CONTENT_TYPE, t);
    }
    let response = router.clone().oneshot(request.body(Body::from(body.into())).unwrap()).await.unwrap();
    let status = response.status();
    let bytes = axum::body::to_bytes(response.into_body(), usize::MAX).await.unwrap();
    let json =
        serde_json::from_slice(&bytes).unwrap_or_else(|_| panic!("not JSON: {:?}", String::from_utf8_lossy(&bytes)));
    (status, json)
}

async fn post_json(router: &Router, uri: &str, body: impl Into<Vec<u8>>) -> (StatusCode, Value) {
    send(router, Method::POST, uri, Some("application/json"), body).await
}

async fn get_json(router: &Router, uri: &str) -> (StatusCode, Value) {
    send(router, Method::GET, uri, None, Vec::new()).await
}

/// The seed payload with `key` set to `value` (raw JSON text), or removed when `None`.
fn seed_with(key: &str, value: Option<&str>) -> String {
    let mut object: serde_json::Map<String, Value> = serde_json::from_str(SEED).unwrap();
    object.remove(key);
    let mut text = serde_json::to_string(&object).unwrap();
    if let Some(v) = value {
        text.pop();
        text.push_str(&format!(",\"{key}\":{v}}}"));
    }
    text
}

#[tokio::test]
async fn the_seed_payload_predicts_byte_for_byte() {
    let router = app(state(None), LIMIT);
    let (status, body) = post_json(&router, "/predict", SEED).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let answer: Answer = serde_json::from_value(body.clone()).unwrap();
    assert!(answer.estimated_price.is_finite() && answer.estimated_price > 0.0, "{body}");
    let [lo, hi] = answer.interval.expect("main.hf declares quantiles");
    assert!(lo.is_finite() && hi.is_finite() && lo <= hi, "{body}");
    assert_eq!(answer.model_version, 1);
    assert_eq!(answer.id, FIRST_HTTP_ID);
    for key in ["estimated_price", "interval", "model_version", "id"] {
        assert!(body.get(key).is_some(), "{key} missing from {body}");
    }
    // A second request gets the next id; a charset parameter is still JSON.
    let (status, body) = send(&router, Method::POST, "/predict", Some("application/json; charset=utf-8"), SEED).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["id"], json!(FIRST_HTTP_ID + 1));
}

#[tokio::test]
async fn a_batch_answers_every_item_in_order() {
    let router = app(state(None), LIMIT);
    let single = post_json(&router, "/predict", SEED).await.1;
    let cheap = seed_with("Avg_Area_Income", Some("20000"));
    let (status, body) = post_json(&router, "/predict/batch", format!("[{SEED}, {cheap}, {SEED}]")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let answers: Vec<Answer> = serde_json::from_value(body).unwrap();
    assert_eq!(answers.len(), 3);
    assert_eq!(answers[0].estimated_price, single["estimated_price"].as_f64().unwrap());
    assert_eq!(answers[0].estimated_price, answers[2].estimated_price);
    assert!(answers[1].estimated_price < answers[0].estimated_price, "income should raise the price");
    assert!(answers.windows(2).all(|w| w[0].id + 1 == w[1].id));
    let (status, body) = post_json(&router, "/predict/batch", "[]").await;
    assert_eq!((status, body), (StatusCode::OK, json!([])));
}

/// (name, route, content type, body, status, field named, kind).
type BadCase = (&'static str, &'static str, Option<&'static str>, String, u16, Option<&'static str>, &'static str);

#[tokio::test]
async fn bad_requests_get_the_right_status_and_name_the_field() {
    let router = app(state(None), LIMIT);
    let big = format!("{{\"Address\": \"{}\"}}", "x".repeat(LIMIT + 1));
    let bad_item = seed_with("Avg_Area_House_Age", Some("\"old\""));
    let huge_item = seed_with("Area_Population", Some("1e400"));
    #[rustfmt::skip]
    let cases: Vec<BadCase> = vec![
        ("malformed JSON", "/predict", Some("application/json"), r#"{"Avg_Area_Income": 65000,"#.into(), 400, None, "malformed"),
        ("trailing garbage", "/predict", Some("application/json"), format!("{SEED} x"), 400, None, "malformed"),
        ("empty body", "/predict", Some("application/json"), String::new(), 400, None, "empty_body"),
        ("blank body", "/predict", Some("application/json"), " \n ".into(), 400, None, "empty_body"),
        ("array instead of object", "/predict", Some("application/json"), "[1, 2]".into(), 400, None, "wrong_type"),
        ("string instead of object", "/predict", Some("application/json"), "\"house\"".into(), 400, None, "wrong_type"),
        ("string for a number", "/predict", Some("application/json"), seed_with("Avg_Area_Income", Some("\"lots\"")), 422, Some("Avg_Area_Income"), "wrong_type"),
        ("missing required field", "/predict", Some("application/json"), seed_with("Area_Population", None), 422, Some("Area_Population"), "missing"),
        ("null for a required field", "/predict", Some("application/json"), seed_with("Avg_Area_House_Age", Some("null")), 422, Some("Avg_Area_House_Age"), "missing"),
        ("NaN as a string", "/predict", Some("application/json"), seed_with("Avg_Area_Income", Some("\"NaN\"")), 422, Some("Avg_Area_Income"), "not_finite"),
        ("inf as a string", "/predict", Some("application/json"), seed_with("Avg_Area_Number_of_Rooms", Some("\"inf\"")), 422, Some("Avg_Area_Number_of_Rooms"), "not_finite"),
        ("-Infinity as a string", "/predict", Some("application/json"), seed_with("Avg_Area_Number_of_Rooms", Some("\"-Infinity\"")), 422, Some("Avg_Area_Number_of_Rooms"), "not_finite"),
        ("1e400", "/predict", Some("application/json"), seed_with("Avg_Area_Income", Some("1e400")), 422, Some("Avg_Area_Income"), "not_finite"),
        ("-1e400", "/predict", Some("application/json"), seed_with("Area_Population", Some("-1e400")), 422, Some("Area_Population"), "not_finite"),
        ("negative out of range", "/predict", Some("application/json"), seed_with("Avg_Area_House_Age", Some("-5")), 422, Some("Avg_Area_House_Age"), "out_of_range"),
        ("above the range", "/predict", Some("application/json"), seed_with("Avg_Area_Number_of_Rooms", Some("1000")), 422, Some("Avg_Area_Number_of_Rooms"), "out_of_range"),
        ("unknown field", "/predict", Some("application/json"), seed_with("Avg_Area_Incom", Some("65000")), 422, Some("Avg_Area_Incom"), "unknown_field"),
        ("boolean for a number", "/predict", Some("application/json"), seed_with("Avg_Area_Number_of_Bedrooms", Some("true")), 422, Some("Avg_Area_Number_of_Bedrooms"), "wrong_type"),
        ("nested object", "/predict", Some("application/json"), seed_with("Avg_Area_Income", Some(r#"{"value": 65000}"#)), 422, Some("Avg_Area_Income"), "wrong_type"),
        ("array for a number", "/predict", Some("application/json"), seed_with("Avg_Area_Income", Some("[65000]")), 422, Some("Avg_Area_Income"), "wrong_type"),
        ("number for a string", "/predict", Some("application/json"), seed_with("Address", Some("42")), 422, Some("Address"), "wrong_type"),
        ("wrong content type", "/predict", Some("text/plain"), SEED.into(), 415, None, "unsupported_media_type"),
        ("form content type", "/predict", Some("application/x-www-form-urlencoded"), SEED.into(), 415, None, "unsupported_media_type"),
        ("missing content type", "/predict", None, SEED.into(), 415, None, "unsupported_media_type"),
        ("over-limit body", "/predict", Some("application/json"), big.clone(), 413, None, "body_too_large"),
        ("over-limit batch", "/predict/batch", Some("application/json"), format!("[{big}]"), 413, None, "body_too_large"),
        ("batch of an object", "/predict/batch", Some("application/json"), SEED.into(), 400, None, "wrong_type"),
        ("batch malformed", "/predict/batch", Some("application/json"), format!("[{SEED},"), 400, None, "malformed"),
        ("batch with one bad item", "/predict/batch", Some("application/json"), format!("[{SEED}, {bad_item}]"), 422, Some("Avg_Area_House_Age"), "wrong_type"),
        ("batch item 1e400", "/predict/batch", Some("application/json"), format!("[{SEED}, {SEED}, {huge_item}]"), 422, Some("Area_Population"), "not_finite"),
        ("batch item not an object", "/predict/batch", Some("application/json"), format!("[{SEED}, 7]"), 422, None, "wrong_type"),
        ("batch item unknown field", "/predict/batch", Some("application/json"), format!("[{}]", seed_with("Pric", Some("1"))), 422, Some("Pric"), "unknown_field"),
    ];
    assert!(cases.len() >= 20);
    for (name, uri, content_type, body, status, field, kind) in cases {
        let (got, json) = send(&router, Method::POST, uri, content_type, body).await;
        assert_eq!(got.as_u16(), status, "{name}: {json}");
        assert_eq!(json["field"], json!(field), "{name}: {json}");
        assert_eq!(json["kind"], json!(kind), "{name}: {json}");
        let message = json["error"].as_str().unwrap_or_else(|| panic!("{name}: no message in {json}"));
        if let Some(field) = field {
            assert!(message.contains(field), "{name}: the message should name `{field}`: {message}");
        }
    }
}

#[tokio::test]
async fn batch_errors_name_the_index_and_nothing_is_predicted() {
    let router = app(state(None), LIMIT);
    let bad = seed_with("Avg_Area_Income", Some("\"NaN\""));
    let (status, json) = post_json(&router, "/predict/batch", format!("[{SEED}, {SEED}, {bad}, {SEED}]")).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(json["index"], json!(2));
    assert_eq!(json["field"], json!("Avg_Area_Income"));
    assert!(json["error"].as_str().unwrap().starts_with("item 2: "), "{json}");
    // Single-item errors carry no index.
    let (_, json) = post_json(&router, "/predict", bad).await;
    assert!(json.get("index").is_none(), "{json}");
}

#[tokio::test]
async fn an_unknown_field_suggests_the_schema_field() {
    let router = app(state(None), LIMIT);
    let (_, json) = post_json(&router, "/predict", seed_with("Avg_Area_Incom", Some("1"))).await;
    assert!(json["error"].as_str().unwrap().contains("did you mean `Avg_Area_Income`?"), "{json}");
}

fn filled_store() -> Arc<PredictionStore> {
    let store = PredictionStore::new(1000);
    let records: Vec<PredictionRecord> = (0..10u64)
        .map(|i| {
            let p = Prediction { estimate: 100_000.0 + i as f64, interval: Some([90_000.0, 110_000.0]), version: 1 };
            PredictionRecord::new(i, 1_000 + 10 * i as i64, &p, 0)
        })
        .collect();
    store.push_batch(&records);
    Arc::new(store)
}

fn ids(json: &Value) -> Vec<u64> {
    json.as_array().unwrap().iter().map(|r| r["id"].as_u64().unwrap()).collect()
}

#[tokio::test]
async fn predictions_filters_by_limit_since_and_id() {
    let router = app(state(Some(filled_store())), LIMIT);
    let (status, json) = get_json(&router, "/predictions").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(ids(&json), (0..10).rev().collect::<Vec<_>>());
    assert_eq!(json[0]["estimated_price"], json!(100_009.0));
    assert_eq!(ids(&get_json(&router, "/predictions?limit=3").await.1), [9, 8, 7]);
    assert_eq!(ids(&get_json(&router, "/predictions?since=1050").await.1), [9, 8, 7, 6, 5]);
    assert_eq!(ids(&get_json(&router, "/predictions?since=1050&limit=2").await.1), [9, 8]);
    assert_eq!(ids(&get_json(&router, "/predictions?limit=0").await.1), Vec::<u64>::new());
    let (status, json) = get_json(&router, "/predictions?id=4").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!((json["id"].clone(), json["ts_ms"].clone()), (json!(4), json!(1040)));
    let (status, json) = get_json(&router, "/predictions?id=999").await;
    assert_eq!(
        (status, json["field"].clone(), json["kind"].clone()),
        (StatusCode::NOT_FOUND, json!("id"), json!("not_found"))
    );
    let (status, json) = get_json(&router, "/predictions?limit=10001").await;
    assert_eq!((status, json["field"].clone()), (StatusCode::BAD_REQUEST, json!("limit")));
    assert_eq!(get_json(&router, "/predictions?limit=10000").await.0, StatusCode::OK);
    let (status, json) = get_json(&router, "/predictions?limit=lots").await;
    assert_eq!((status, json["kind"].clone()), (StatusCode::BAD_REQUEST, json!("bad_query")));
    assert_eq!(get_json(&router, "/predictions?id=-1").await.0, StatusCode::BAD_REQUEST);
    // HTTP predictions are answered, not stored as stream predictions.
    assert_eq!(post_json(&router, "/predict", SEED).await.0, StatusCode::OK);
    assert_eq!(ids(&get_json(&router, "/predictions?limit=1").await.1), [9]);
}

#[tokio::test]
async fn predictions_without_a_store_is_not_found() {
    let router = app(state(None), LIMIT);
    let (status, json) = get_json(&router, "/predictions").await;
    assert_eq!((status, json["kind"].clone()), (StatusCode::NOT_FOUND, json!("no_store")));
}

#[tokio::test]
async fn models_lists_versions_and_pointers() {
    let router = app(state(None), LIMIT);
    let (status, json) = get_json(&router, "/models").await;
    assert_eq!(status, StatusCode::OK, "{json}");
    assert_eq!(json["serving"], json!({"name": "price", "version": 1}));
    let price = &json["models"][0];
    assert_eq!(price["name"], json!("price"));
    assert_eq!(price["production"], json!(1));
    assert_eq!(price["versions"][0]["version"], json!(1));
    assert_eq!(price["versions"][0]["status"], json!("ok"));
    assert!(price["versions"][0]["pointers"].as_array().unwrap().contains(&json!("production")), "{json}");
    assert!(price["versions"][0]["metrics"]["r2"].is_number(), "{json}");
}

#[tokio::test]
async fn health_readiness_and_unknown_routes() {
    let router = app(state(None), LIMIT);
    assert_eq!(get_json(&router, "/healthz").await, (StatusCode::OK, json!({"status": "ok"})));
    let (status, json) = get_json(&router, "/readyz").await;
    assert_eq!(
        (status, json["model_version"].clone(), json["status"].clone()),
        (StatusCode::OK, json!(1), json!("ready"))
    );
    let (status, json) = get_json(&router, "/nope").await;
    assert_eq!((status, json["kind"].clone()), (StatusCode::NOT_FOUND, json!("no_route")));
}

#[test]
fn an_answer_without_quantiles_omits_the_interval() {
    let a = Answer { estimated_price: 1.5, interval: None, model_version: 2, id: 3 };
    assert_eq!(serde_json::to_string(&a).unwrap(), r#"{"estimated_price":1.5,"model_version":2,"id":3}"#);
}

fn runtime() -> &'static tokio::runtime::Runtime {
    static RT: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RT.get_or_init(|| tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap())
}

fn router() -> &'static Router {
    static ROUTER: OnceLock<Router> = OnceLock::new();
    ROUTER.get_or_init(|| app(state(None), LIMIT))
}

fn arb_json() -> impl Strategy<Value = Value> {
    let names = prop_oneof![
        Just("Avg_Area_Income".to_string()),
        Just("Avg_Area_House_Age".to_string()),
        Just("Avg_Area_Number_of_Rooms".to_string()),
        Just("Avg_Area_Number_of_Bedrooms".to_string()),
        Just("Area_Population".to_string()),
        Just("Address".to_string()),
        Just("Price".to_string()),
        "[a-zA-Z_]{0,12}",
    ];
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        any::<f64>().prop_map(|x| serde_json::Number::from_f64(x).map_or(Value::Null, Value::Number)),
        prop_oneof![Just("NaN".to_string()), Just("inf".to_string()), Just("".to_string()), ".{0,20}"]
            .prop_map(Value::String),
    ];
    leaf.prop_recursive(3, 32, 8, move |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..8).prop_map(Value::Array),
            prop::collection::btree_map(names.clone(), inner, 0..9)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// The seed payload with some fields replaced by random values, to reach validation.
fn arb_house() -> impl Strategy<Value = Value> {
    prop::collection::vec((0..7usize, arb_json()), 0..4).prop_map(|changes| {
        let mut house: Value = serde_json::from_str(SEED).unwrap();
        let keys: Vec<String> =
            ["Price"].iter().map(|k| k.to_string()).chain(house.as_object().unwrap().keys().cloned()).collect();
        for (i, value) in changes {
            house[&keys[i % keys.len()]] = value;
        }
        house
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn random_json_never_gets_a_server_error(value in prop_oneof![arb_json(), arb_house()]) {
        let body = serde_json::to_vec(&value).unwrap();
        let (status, json) = runtime().block_on(post_json(router(), "/predict", body.clone()));
        prop_assert!(!status.is_server_error(), "{status} for {value}: {json}");
        prop_assert!(status == StatusCode::OK || json["error"].is_string(), "{status}: {json}");
        let (status, json) = runtime().block_on(post_json(router(), "/predict/batch", format!("[{value}]")));
        prop_assert!(!status.is_server_error(), "{status} for [{value}]: {json}");
    }

    #[test]
    fn random_bytes_never_get_a_server_error(body in prop::collection::vec(any::<u8>(), 0..64)) {
        let (status, _) = runtime().block_on(post_json(router(), "/predict", body));
        prop_assert!(status.is_client_error(), "{status}");
    }
}

/// Sends a request and returns the status, the content type and the body as text.
async fn send_raw(router: &Router, method: Method, uri: &str, body: &str) -> (StatusCode, String, String) {
    let request = Request::builder()
        .method(method)
        .uri(uri)
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(body.to_string()))
        .unwrap();
    let response = router.clone().oneshot(request).await.unwrap();
    let status = response.status();
    let content_type =
        response.headers().get(header::CONTENT_TYPE).map_or(String::new(), |v| v.to_str().unwrap().to_string());
    let bytes = axum::body::to_bytes(response.into_body(), usize::MAX).await.unwrap();
    (status, content_type, String::from_utf8(bytes.to_vec()).unwrap())
}

/// Three houses as JSON objects: the seed, a cheap one and one without its optional address.
fn three_houses() -> Vec<serde_json::Map<String, Value>> {
    let seed: serde_json::Map<String, Value> = serde_json::from_str(SEED).unwrap();
    let mut cheap = seed.clone();
    cheap["Avg_Area_Income"] = json!(20000);
    let mut other = seed.clone();
    other["Avg_Area_House_Age"] = json!(15.5);
    other["Area_Population"] = json!("36000");
    other.remove("Address");
    vec![seed, cheap, other]
}

fn estimates(batch: &Value) -> Vec<f64> {
    batch.as_array().unwrap().iter().map(|a| a["estimated_price"].as_f64().unwrap()).collect()
}

#[tokio::test]
async fn invocations_accept_every_mlflow_format_and_match_the_batch() {
    let router = app(state(None), LIMIT);
    let houses = three_houses();
    let (status, batch) = post_json(&router, "/predict/batch", serde_json::to_string(&houses).unwrap()).await;
    assert_eq!(status, StatusCode::OK, "{batch}");
    let expected = json!({"predictions": estimates(&batch)});
    assert!(estimates(&batch)[0] != estimates(&batch)[1]);

    // dataframe_split: the schema's columns in order (all but the label), a missing optional
    // value as null.
    let (model, schema, _) = trained();
    let columns: Vec<&str> =
        schema.fields.iter().map(|f| f.name.as_str()).filter(|n| *n != model.model.label).collect();
    let data: Vec<Vec<Value>> =
        houses.iter().map(|h| columns.iter().map(|c| h.get(*c).cloned().unwrap_or(Value::Null)).collect()).collect();
    let split = json!({"dataframe_split": {"columns": columns, "data": data, "index": [0, 1, 2]}});
    let records = json!({"dataframe_records": houses});
    let instances = json!({"instances": houses});
    let inputs_list = json!({"inputs": houses});
    let mut by_column = serde_json::Map::new();
    for c in columns {
        by_column.insert(c.into(), houses.iter().map(|h| h.get(c).cloned().unwrap_or(Value::Null)).collect());
    }
    let inputs_columns = json!({"inputs": by_column});
    for (name, body) in [
        ("split", split),
        ("records", records),
        ("instances", instances),
        ("inputs list", inputs_list),
        ("inputs columns", inputs_columns),
    ] {
        let (status, json) = post_json(&router, "/invocations", body.to_string()).await;
        assert_eq!((status, &json), (StatusCode::OK, &expected), "{name}");
    }
    // No houses is a bad request, as MLflow answers it.
    for body in [r#"{"instances": []}"#, r#"{"inputs": {}}"#, r#"{"dataframe_split": {"columns": [], "data": []}}"#] {
        let (status, json) = post_json(&router, "/invocations", body).await;
        assert_eq!((status, &json["error_code"]), (StatusCode::BAD_REQUEST, &json!("BAD_REQUEST")), "{body}: {json}");
    }
}

#[tokio::test]
async fn invocations_ignore_params_other_keys_and_extra_columns_as_mlflow_does() {
    let router = app(state(None), LIMIT);
    let houses = three_houses();
    let (_, batch) = post_json(&router, "/predict/batch", serde_json::to_string(&houses).unwrap()).await;
    let expected = json!({"predictions": estimates(&batch)});
    let with_extra: Vec<serde_json::Map<String, Value>> = houses
        .iter()
        .map(|h| {
            let mut h = h.clone();
            h.insert("listing_agent".into(), json!("someone"));
            h.insert("Unnamed: 0".into(), json!(3));
            h
        })
        .collect();
    for (name, body) in [
        ("params", json!({"dataframe_records": houses, "params": {"temperature": 0.5}})),
        ("null params", json!({"instances": houses, "params": null})),
        ("another key", json!({"inputs": houses, "request_id": "abc"})),
        ("extra columns", json!({"dataframe_records": with_extra})),
        (
            "split with extra keys",
            json!({"dataframe_split": {
                "columns": ["Avg_Area_Income", "Avg_Area_House_Age", "Avg_Area_Number_of_Rooms",
                            "Avg_Area_Number_of_Bedrooms", "Area_Population", "Address", "extra"],
                "data": houses.iter().map(|h| json!([h["Avg_Area_Income"], h["Avg_Area_House_Age"],
                    h["Avg_Area_Number_of_Rooms"], h["Avg_Area_Number_of_Bedrooms"], h["Area_Population"],
                    h.get("Address").cloned().unwrap_or(Value::Null), "x"])).collect::<Vec<_>>(),
                "index": [0, 1, 2],
                "dtypes": {},
            }}),
        ),
    ] {
        let (status, json) = post_json(&router, "/invocations", body.to_string()).await;
        assert_eq!((status, &json), (StatusCode::OK, &expected), "{name}");
    }
}

#[tokio::test]
async fn invocations_read_csv_as_pandas_writes_it() {
    let router = app(state(None), LIMIT);
    let houses = three_houses();
    let (_, batch) = post_json(&router, "/predict/batch", serde_json::to_string(&houses).unwrap()).await;
    let expected = json!({"predictions": estimates(&batch)});
    // `DataFrame.to_csv()`: an unnamed index column first, a missing value as an empty cell.
    let columns = [
        "Avg_Area_Income",
        "Avg_Area_House_Age",
        "Avg_Area_Number_of_Rooms",
        "Avg_Area_Number_of_Bedrooms",
        "Area_Population",
        "Address",
    ];
    let mut csv = format!(",{}\n", columns.join(","));
    for (i, h) in houses.iter().enumerate() {
        let cells: Vec<String> = columns
            .iter()
            .map(|c| match h.get(*c) {
                Some(Value::String(s)) => format!("\"{s}\""),
                Some(v) => v.to_string(),
                None => String::new(),
            })
            .collect();
        csv.push_str(&format!("{i},{}\n", cells.join(",")));
    }
    for content_type in ["text/csv", "text/csv; charset=utf-8", "TEXT/CSV;charset=UTF-8"] {
        let (status, json) = send(&router, Method::POST, "/invocations", Some(content_type), csv.clone()).await;
        assert_eq!((status, &json), (StatusCode::OK, &expected), "{content_type}:\n{csv}");
    }
    // A bad cell names its row and column; a header alone holds no rows; a ragged row is malformed.
    let bad = csv.replacen(",7.5,", ",old,", 1);
    assert_ne!(bad, csv);
    let (status, json) = send(&router, Method::POST, "/invocations", Some("text/csv"), bad).await;
    assert_eq!((status, &json["error_code"]), (StatusCode::BAD_REQUEST, &json!("INVALID_PARAMETER_VALUE")), "{json}");
    assert!(json["message"].as_str().unwrap().contains("Avg_Area_House_Age"), "{json}");
    for (body, code) in [(format!(",{}\n", columns.join(",")), "BAD_REQUEST"), ("a,b\n1,2,3\n".into(), "BAD_REQUEST")] {
        let (status, json) = send(&router, Method::POST, "/invocations", Some("text/csv"), body.clone()).await;
        assert_eq!((status, &json["error_code"]), (StatusCode::BAD_REQUEST, &json!(code)), "{body}: {json}");
    }
    // Only UTF-8, and no other content-type parameters.
    for content_type in
        ["text/csv; charset=latin-1", "application/json; format=pandas-split", "text/plain", "application/xml"]
    {
        let (status, json) = send(&router, Method::POST, "/invocations", Some(content_type), csv.clone()).await;
        assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE, "{content_type}: {json}");
        assert!(json["message"].is_string(), "{json}");
    }
}

#[tokio::test]
async fn ping_health_and_version_answer_as_mlflow_s_server_does() {
    let router = app(state(None), LIMIT);
    for path in ["/ping", "/health"] {
        let (status, _, body) = send_raw(&router, Method::GET, path, "").await;
        assert_eq!((status, body.as_str()), (StatusCode::OK, "\n"), "{path}");
    }
    let (status, content_type, body) = send_raw(&router, Method::GET, "/version", "").await;
    assert_eq!((status, body.as_str()), (StatusCode::OK, env!("CARGO_PKG_VERSION")));
    assert!(content_type.starts_with("text/plain"), "{content_type}");
}

/// (name, body, MLflow error code, index named, field named).
type InvocationCase = (&'static str, String, &'static str, Option<usize>, Option<&'static str>);

#[tokio::test]
async fn invocation_errors_have_mlflow_s_shape_and_name_the_row_and_field() {
    let router = app(state(None), LIMIT);
    let bad = seed_with("Avg_Area_House_Age", Some("\"old\""));
    let huge = seed_with("Area_Population", Some("1e400"));
    let columns = r#"["Avg_Area_Income", "Avg_Area_House_Age", "Avg_Area_Number_of_Rooms", "Avg_Area_Number_of_Bedrooms", "Area_Population"]"#;
    let (request_error, bad_value) = ("BAD_REQUEST", "INVALID_PARAMETER_VALUE");
    #[rustfmt::skip]
    let cases: Vec<InvocationCase> = vec![
        ("no format key", "{}".into(), request_error, None, None),
        ("only an unknown key", format!(r#"{{"dataframe": [{SEED}]}}"#), request_error, None, None),
        ("a house instead of a format", SEED.into(), request_error, None, None),
        ("two format keys", format!(r#"{{"instances": [{SEED}], "inputs": [{SEED}]}}"#), request_error, None, None),
        ("not an object", format!("[{SEED}]"), request_error, None, None),
        ("malformed", r#"{"instances": ["#.into(), request_error, None, None),
        ("instances not a list", format!(r#"{{"instances": {SEED}}}"#), request_error, None, None),
        ("records not a list", r#"{"dataframe_records": 3}"#.into(), request_error, None, None),
        ("params not an object", format!(r#"{{"dataframe_records": [{SEED}], "params": [null]}}"#), request_error, None, None),
        ("split without data", format!(r#"{{"dataframe_split": {{"columns": {columns}}}}}"#), request_error, None, None),
        ("split with a duplicate column", r#"{"dataframe_split": {"columns": ["Address", "Address"], "data": [["a", "b"]]}}"#.into(), request_error, None, Some("Address")),
        ("inputs of unequal columns", r#"{"inputs": {"Avg_Area_Income": [1, 2], "Avg_Area_House_Age": [1]}}"#.into(), request_error, None, Some("Avg_Area_Income")),
        ("inputs column not a list", r#"{"inputs": {"Avg_Area_Income": 1}}"#.into(), request_error, None, Some("Avg_Area_Income")),
        ("records with a bad item", format!(r#"{{"dataframe_records": [{SEED}, {bad}]}}"#), bad_value, Some(1), Some("Avg_Area_House_Age")),
        ("instances with a list row", format!(r#"{{"instances": [{SEED}, {SEED}, [1, 2, 3, 4, 5]]}}"#), bad_value, Some(2), None),
        ("inputs list with 1e400", format!(r#"{{"inputs": [{huge}]}}"#), bad_value, Some(0), Some("Area_Population")),
        ("records with 1e400", format!(r#"{{"dataframe_records": [{SEED}, {huge}]}}"#), bad_value, Some(1), Some("Area_Population")),
        ("split row too short", format!(r#"{{"dataframe_split": {{"columns": {columns}, "data": [[1, 2, 3, 4, 5], [1, 2]]}}}}"#), bad_value, Some(1), None),
        ("split row not a list", format!(r#"{{"dataframe_split": {{"columns": {columns}, "data": [7]}}}}"#), bad_value, Some(0), None),
        ("split out of range", format!(r#"{{"dataframe_split": {{"columns": {columns}, "data": [[1, 2, 3, 4, 5], [1, 2, 3, 4, 5], [1, 2, 3000, 4, 5]]}}}}"#), bad_value, Some(2), Some("Avg_Area_Number_of_Rooms")),
        ("split missing a required column", r#"{"dataframe_split": {"columns": ["Avg_Area_Income"], "data": [[1]]}}"#.into(), bad_value, Some(0), Some("Avg_Area_House_Age")),
        ("inputs columns with a bad value", r#"{"inputs": {"Avg_Area_Income": [1, 1], "Avg_Area_House_Age": [1, "old"], "Avg_Area_Number_of_Rooms": [1, 1], "Avg_Area_Number_of_Bedrooms": [1, 1], "Area_Population": [1, 1]}}"#.into(), bad_value, Some(1), Some("Avg_Area_House_Age")),
    ];
    for (name, body, code, index, field) in cases {
        let (status, json) = post_json(&router, "/invocations", body).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{name}: {json}");
        let keys: Vec<&String> = json.as_object().unwrap().keys().collect();
        assert_eq!(keys, ["error_code", "message"], "{name}: {json}");
        assert_eq!(json["error_code"], json!(code), "{name}: {json}");
        let message = json["message"].as_str().unwrap();
        if name.contains("format") || name.contains("unknown key") {
            for format in ["dataframe_split", "dataframe_records", "instances", "inputs"] {
                assert!(message.contains(format), "{name}: the message should name `{format}`: {message}");
            }
        }
        if let Some(i) = index {
            assert!(message.starts_with(&format!("item {i}: ")), "{name}: {message}");
        }
        if let Some(field) = field {
            assert!(message.contains(field), "{name}: the message should name `{field}`: {message}");
        }
    }
    let (status, _, body) = send_raw(&router, Method::POST, "/invocations", "").await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(body.contains("\"error_code\":\"BAD_REQUEST\""), "{body}");
    // Our own routes keep their error shape.
    let (status, json) = post_json(&router, "/predict", bad).await;
    assert_eq!((status, &json["field"]), (StatusCode::UNPROCESSABLE_ENTITY, &json!("Avg_Area_House_Age")));
}

#[tokio::test]
async fn the_openapi_document_describes_exactly_the_routes() {
    let router = app(state(None), LIMIT);
    let (status, doc) = get_json(&router, "/openapi.json").await;
    assert_eq!(status, StatusCode::OK);
    assert!(doc["openapi"].as_str().unwrap().starts_with("3.0"), "{doc}");
    let documented: std::collections::BTreeSet<(String, String)> = doc["paths"]
        .as_object()
        .unwrap()
        .iter()
        .flat_map(|(path, item)| item.as_object().unwrap().keys().map(move |m| (m.to_ascii_uppercase(), path.clone())))
        .collect();
    let routed: std::collections::BTreeSet<(String, String)> =
        ROUTES.iter().map(|(m, p)| (m.to_string(), p.to_string())).collect();
    assert_eq!(documented, routed);
    // Every listed route is registered: none falls through to the fallback.
    for (method, path) in ROUTES {
        let (status, _, body) = send_raw(&router, Method::from_bytes(method.as_bytes()).unwrap(), path, "").await;
        assert!(
            !body.contains("no_route") && status != StatusCode::METHOD_NOT_ALLOWED,
            "{method} {path}: {status} {body}"
        );
    }
    // Every reference resolves, and the house schema is the pipeline's.
    let text = doc.to_string();
    for name in ["House", "Answer", "Error"] {
        assert!(doc["components"]["schemas"][name].is_object(), "{name}");
    }
    let references = text.matches("#/components/schemas/").count();
    assert!(references >= 5, "{references}");
    let house = &doc["components"]["schemas"]["House"];
    let (_, schema, _) = trained();
    assert_eq!(house["properties"].as_object().unwrap().len(), schema.fields.len());
    let required: Vec<&str> = schema.fields.iter().filter(|f| !f.optional).map(|f| f.name.as_str()).collect();
    assert_eq!(house["required"], json!(required));
    assert!(!required.contains(&"Address") && required.contains(&"Avg_Area_Income"));
    let age = &house["properties"]["Avg_Area_House_Age"];
    assert_eq!((&age["type"], &age["minimum"], &age["maximum"]), (&json!("number"), &json!(0.0), &json!(200.0)));
    assert!(age["description"].as_str().unwrap().contains("string holding a number"), "{age}");
    assert_eq!(house["properties"]["Address"], json!({"type": "string", "nullable": true}));
}

/// Checks the text exposition format: HELP then TYPE before a family's samples, samples of a
/// family together, `name{labels} value` lines, no duplicate series. Returns series → value.
fn parse_exposition(text: &str) -> BTreeMap<String, f64> {
    let mut helped = std::collections::BTreeSet::new();
    let mut types: BTreeMap<String, String> = BTreeMap::new();
    let mut finished = std::collections::BTreeSet::new();
    let mut current: Option<String> = None;
    let mut series = BTreeMap::new();
    let name_ok = |n: &str| {
        !n.is_empty()
            && n.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
            && !n.starts_with(|c: char| c.is_ascii_digit())
    };
    for line in text.lines() {
        assert!(!line.is_empty(), "blank line in\n{text}");
        if let Some(rest) = line.strip_prefix("# HELP ") {
            let name = rest.split(' ').next().unwrap();
            assert!(name_ok(name) && helped.insert(name.to_string()), "bad or repeated HELP: {line}");
            continue;
        }
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            let mut parts = rest.split(' ');
            let (name, kind) = (parts.next().unwrap(), parts.next().unwrap());
            assert!(["counter", "gauge", "histogram", "summary", "untyped"].contains(&kind), "{line}");
            assert!(helped.contains(name), "TYPE before HELP: {line}");
            assert!(types.insert(name.to_string(), kind.to_string()).is_none(), "repeated TYPE: {line}");
            continue;
        }
        assert!(!line.starts_with('#'), "unexpected comment: {line}");
        let (series_name, value) = line.rsplit_once(' ').unwrap_or_else(|| panic!("no value: {line}"));
        let value: f64 = match value {
            "+Inf" => f64::INFINITY,
            "-Inf" => f64::NEG_INFINITY,
            "NaN" => f64::NAN,
            v => v.parse().unwrap_or_else(|_| panic!("bad value: {line}")),
        };
        let (name, labels) = match series_name.split_once('{') {
            Some((name, labels)) => {
                (name, labels.strip_suffix('}').unwrap_or_else(|| panic!("unclosed labels: {line}")))
            }
            None => (series_name, ""),
        };
        assert!(name_ok(name), "bad name: {line}");
        let mut label_names = std::collections::BTreeSet::new();
        let mut rest = labels;
        while !rest.is_empty() {
            let (label, after) = rest.split_once("=\"").unwrap_or_else(|| panic!("bad labels: {line}"));
            assert!(name_ok(label) && label_names.insert(label), "bad or repeated label: {line}");
            let mut end = None;
            let mut escaped = false;
            for (i, c) in after.char_indices() {
                match (escaped, c) {
                    (true, _) => escaped = false,
                    (false, '\\') => escaped = true,
                    (false, '"') => {
                        end = Some(i);
                        break;
                    }
                    _ => {}
                }
            }
            let end = end.unwrap_or_else(|| panic!("unterminated label value: {line}"));
            rest = &after[end + 1..];
            rest = rest.strip_prefix(',').unwrap_or(rest);
        }
        let family = ["_bucket", "_sum", "_count"]
            .iter()
            .find_map(|s| {
                name.strip_suffix(s)
                    .filter(|base| matches!(types.get(*base).map(String::as_str), Some("histogram" | "summary")))
            })
            .unwrap_or(name);
        assert!(types.contains_key(family), "sample before its TYPE: {line}");
        if current.as_deref() != Some(family) {
            assert!(!finished.contains(family), "family {family} is split: {line}");
            if let Some(previous) = current.replace(family.to_string()) {
                finished.insert(previous);
            }
        }
        assert!(series.insert(series_name.to_string(), value).is_none(), "duplicate series: {line}");
    }
    series
}

/// Runs `promtool check metrics` on `text` (`make deps` installs promtool).
fn promtool_check(text: &str) {
    use std::io::Write;
    use std::process::{Command, Stdio};
    let Ok(mut child) = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
    else {
        panic!("promtool is not on PATH: run `make deps` (Debian `prometheus`) to install it");
    };
    child.stdin.take().unwrap().write_all(text.as_bytes()).unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(
        output.status.success(),
        "promtool check metrics failed:\n{}{}\n{text}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

#[tokio::test]
async fn metrics_export_stream_http_and_model_series() {
    let stats = Arc::new(Stats::new());
    stats.events_in.store(10, Ordering::Relaxed);
    stats.predictions_out.store(7, Ordering::Relaxed);
    stats.add_predictions(1, 4);
    stats.add_predictions(2, 3);
    stats.dead_letters.store(3, Ordering::Relaxed);
    stats.add_reasons(&BTreeMap::from([("out_of_range".to_string(), 2), ("a \"quoted\"\\reason".to_string(), 1)]));
    let mut local = crate::engine::stats::new_histogram();
    for micros in [1_000, 2_000, 3_000, 400_000] {
        local.record(micros).unwrap();
    }
    stats.merge_latency(&mut local);
    let router = app(state_with(None, Some(stats)), LIMIT);
    assert_eq!(post_json(&router, "/predict", SEED).await.0, StatusCode::OK);
    assert_eq!(post_json(&router, "/predict", SEED).await.0, StatusCode::OK);
    assert_eq!(post_json(&router, "/predict", "[]").await.0, StatusCode::BAD_REQUEST);
    assert_eq!(get_json(&router, "/nope").await.0, StatusCode::NOT_FOUND);

    let (status, content_type, text) = send_raw(&router, Method::GET, "/metrics", "").await;
    assert_eq!(status, StatusCode::OK);
    assert!(content_type.starts_with("text/plain; version=0.0.4"), "{content_type}");
    let series = parse_exposition(&text);
    let expect = |name: &str, value: f64| {
        assert_eq!(series.get(name).copied(), Some(value), "{name} in\n{text}");
    };
    expect("housing_flow_events_in_total", 10.0);
    expect(r#"housing_flow_predictions_total{version="1"}"#, 4.0);
    expect(r#"housing_flow_predictions_total{version="2"}"#, 3.0);
    expect(r#"housing_flow_dead_letters_total{reason="out_of_range"}"#, 2.0);
    expect(r#"housing_flow_dead_letters_total{reason="a \"quoted\"\\reason"}"#, 1.0);
    expect(r#"housing_flow_http_requests_total{route="/predict",status="200"}"#, 2.0);
    expect(r#"housing_flow_http_requests_total{route="/predict",status="400"}"#, 1.0);
    expect(r#"housing_flow_http_requests_total{route="unmatched",status="404"}"#, 1.0);
    expect(r#"housing_flow_http_request_duration_seconds_count{route="/predict"}"#, 3.0);
    expect(r#"housing_flow_http_request_duration_seconds_bucket{route="/predict",le="+Inf"}"#, 3.0);
    expect(r#"housing_flow_model_version_info{model="price",version="1"}"#, 1.0);
    expect("housing_flow_stream_latency_seconds_count", 4.0);
    // 1, 2, 3 and 400 ms in the stream histogram's cumulative buckets.
    expect(r#"housing_flow_stream_latency_seconds_bucket{le="0.0005"}"#, 0.0);
    expect(r#"housing_flow_stream_latency_seconds_bucket{le="0.001"}"#, 1.0);
    expect(r#"housing_flow_stream_latency_seconds_bucket{le="0.0025"}"#, 2.0);
    expect(r#"housing_flow_stream_latency_seconds_bucket{le="0.005"}"#, 3.0);
    expect(r#"housing_flow_stream_latency_seconds_bucket{le="0.25"}"#, 3.0);
    expect(r#"housing_flow_stream_latency_seconds_bucket{le="0.5"}"#, 4.0);
    expect(r#"housing_flow_stream_latency_seconds_bucket{le="+Inf"}"#, 4.0);
    // Buckets are cumulative.
    let buckets: Vec<f64> = series
        .iter()
        .filter(|(k, _)| k.starts_with(r#"housing_flow_http_request_duration_seconds_bucket{route="/predict","#))
        .map(|(_, v)| *v)
        .collect();
    assert_eq!(buckets.len(), metrics::BUCKETS.len() + 1);
    promtool_check(&text);

    // The scrape itself is counted by the next one.
    let (_, _, text) = send_raw(&router, Method::GET, "/metrics", "").await;
    let series = parse_exposition(&text);
    assert_eq!(series.get(r#"housing_flow_http_requests_total{route="/metrics",status="200"}"#), Some(&1.0));
}

/// A board with one monitor that has seen two windows and tripped one alert.
fn board() -> Arc<crate::drift::DriftBoard> {
    use crate::drift::rules::{Alert, AlertWindow};
    use crate::drift::{DriftBoard, Statistics, WindowStats};
    let board = Arc::new(DriftBoard::new(vec![DriftBoard::status(
        "income_drift",
        "housing.Avg_Area_Income",
        "sliding(10000 events, every: 1000 events)",
        false,
        vec!["psi(bins: 10) > 0.2 => alert".into()],
    )]));
    for (index, psi) in [(1u64, 0.01), (2, 0.31)] {
        let statistics = Statistics::with(1000, &[("psi", psi), ("ks_d", 0.05), ("ks_p", 0.002)]);
        board.record_window(0, &WindowStats { index, start: 0, end: index * 1000, statistics });
    }
    board.add_late(0, 5);
    board.record_alert(
        Some(0),
        Alert {
            drift: "income_drift".into(),
            target: "housing.Avg_Area_Income".into(),
            rule: "psi(bins: 10) > 0.2 => alert".into(),
            window: AlertWindow { index: 2, start: 0, end: 2000, n: 1000 },
            statistic: "psi".into(),
            op: ">".into(),
            threshold: 0.2,
            value: 0.31,
            for_windows: 1,
            action: "alert".into(),
            outcome: "alerted".into(),
            at_ms: 0,
        },
    );
    board
}

fn state_with_board() -> Arc<AppState> {
    let s = state_with(None, Some(Arc::new(Stats::new())));
    Arc::new(AppState {
        schema: s.schema.clone(),
        handle: s.handle.clone(),
        store: None,
        registry: s.registry.clone(),
        model_name: s.model_name.clone(),
        next_id: AtomicU64::new(FIRST_HTTP_ID),
        stats: s.stats.clone(),
        http: HttpMetrics::default(),
        drift: Some(board()),
        workers: Some(2),
        slos: None,
        admission: Default::default(),
    })
}

#[tokio::test]
async fn drift_metrics_carry_each_monitor_and_alert() {
    let router = app(state_with_board(), LIMIT);
    let (status, _, text) = send_raw(&router, Method::GET, "/metrics", "").await;
    assert_eq!(status, StatusCode::OK);
    let series = parse_exposition(&text);
    let expect = |name: &str, value: f64| {
        assert_eq!(series.get(name).copied(), Some(value), "{name} in\n{text}");
    };
    expect(r#"housing_flow_drift_psi{drift="income_drift"}"#, 0.31);
    expect(r#"housing_flow_drift_ks_distance{drift="income_drift"}"#, 0.05);
    expect(r#"housing_flow_drift_ks_pvalue{drift="income_drift"}"#, 0.002);
    expect(r#"housing_flow_drift_window_events{drift="income_drift"}"#, 1000.0);
    expect(r#"housing_flow_drift_windows_total{drift="income_drift"}"#, 2.0);
    expect(r#"housing_flow_drift_late_events_total{drift="income_drift"}"#, 5.0);
    expect(r#"housing_flow_drift_alerts_total{drift="income_drift",statistic="psi",action="alert"}"#, 1.0);
    expect("housing_flow_workers", 2.0);
    promtool_check(&text);
}

#[tokio::test]
async fn get_drift_shows_the_latest_window_rules_and_alerts() {
    let router = app(state_with_board(), LIMIT);
    let (status, body) = get_json(&router, "/drift").await;
    assert_eq!(status, StatusCode::OK);
    let d = &body["drifts"][0];
    assert_eq!(d["name"], "income_drift");
    assert_eq!(d["windows"], 2);
    assert_eq!(d["last"]["psi"], 0.31);
    assert_eq!(d["last"]["end"], 2000);
    assert_eq!(d["late_events"], 5);
    assert_eq!(d["recent"].as_array().unwrap().len(), 2);
    assert_eq!(body["alerts"][0]["value"], 0.31);
    assert_eq!(body["alerts_total"], 1);
    // Without monitors the route still answers, with empty lists.
    let (status, body) = get_json(&app(state(None), LIMIT), "/drift").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["drifts"], serde_json::json!([]));
}

#[tokio::test]
async fn a_wrong_method_gets_405_with_a_json_error_and_allow() {
    let router = app(state(None), LIMIT);
    let (status, content_type, text) = send_raw(&router, Method::GET, "/predict", "").await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
    assert!(content_type.starts_with("application/json"), "{content_type}");
    let body: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(body["kind"], "method_not_allowed", "{body}");
    assert!(body["error"].as_str().unwrap().contains("POST"), "{body}");
    let response = router
        .clone()
        .oneshot(Request::builder().method(Method::DELETE).uri("/models").body(Body::empty()).unwrap())
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(response.headers()[header::ALLOW], "GET");
}

#[tokio::test]
async fn slow_requests_time_out_with_503() {
    let slow = Router::new()
        .route(
            "/slow",
            get(|| async {
                tokio::time::sleep(std::time::Duration::from_millis(500)).await;
                "late"
            }),
        )
        .route("/fast", get(|| async { "ok" }));
    let router = with_deadline(slow, std::time::Duration::from_millis(50));
    let response = router.clone().oneshot(Request::builder().uri("/slow").body(Body::empty()).unwrap()).await.unwrap();
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    let bytes = axum::body::to_bytes(response.into_body(), 1 << 16).await.unwrap();
    let body: Value = serde_json::from_slice(&bytes).unwrap();
    assert_eq!(body["kind"], "timeout", "{body}");
    let response = router.oneshot(Request::builder().uri("/fast").body(Body::empty()).unwrap()).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
}

#[tokio::test]
async fn metrics_without_stream_stats_still_parse() {
    let router = app(state(None), LIMIT);
    let (status, _, text) = send_raw(&router, Method::GET, "/metrics", "").await;
    assert_eq!(status, StatusCode::OK);
    let series = parse_exposition(&text);
    assert!(!text.contains("housing_flow_events_in_total"), "{text}");
    assert_eq!(series.get(r#"housing_flow_model_version_info{model="price",version="1"}"#), Some(&1.0));
    promtool_check(&text);
}

/// OpenAPI 3.0 has no type arrays (`["number", "null"]` is 3.1): nullability is `nullable: true`.
fn type_arrays(v: &Value, at: &str, out: &mut Vec<String>) {
    match v {
        Value::Object(m) => {
            if m.get("type").is_some_and(Value::is_array) {
                out.push(at.to_string());
            }
            for (k, x) in m {
                type_arrays(x, &format!("{at}/{k}"), out);
            }
        }
        Value::Array(xs) => xs.iter().enumerate().for_each(|(i, x)| type_arrays(x, &format!("{at}/{i}"), out)),
        _ => {}
    }
}

#[tokio::test]
async fn the_openapi_document_is_3_0_and_bounds_its_integers() {
    let router = app(state(None), LIMIT);
    let (_, doc) = get_json(&router, "/openapi.json").await;
    let mut found = Vec::new();
    type_arrays(&doc, "", &mut found);
    assert!(found.is_empty(), "3.1-style type arrays at {found:?}");
    // Query integers carry bounds the server accepts (i64 event times, non-negative ids).
    for p in doc["paths"]["/predictions"]["get"]["parameters"].as_array().unwrap() {
        let s = &p["schema"];
        assert!(s["minimum"].is_number() && s["maximum"].is_number(), "{p}");
    }
    // Every drift statistic is described, as the board reports it.
    let last = &doc["paths"]["/drift"]["get"]["responses"]["200"]["content"]["application/json"]["schema"]
        ["properties"]["drifts"]["items"]["properties"]["last"];
    for s in crate::drift::statistics::ALL {
        assert_eq!(last["properties"][s.key()], json!({"type": "number", "nullable": true}), "{last}");
    }
}

#[tokio::test]
async fn shedding_answers_429_on_prediction_routes_only_and_is_counted() {
    let state = state(None);
    let router = app(state.clone(), LIMIT);
    state.admission.shed(1.0);
    let (status, _, body) = send_raw(&router, Method::POST, "/predict", SEED).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{body}");
    assert!(body.contains("shedding"), "{body}");
    let (status, _, _) = send_raw(&router, Method::GET, "/healthz", "").await;
    assert_eq!(status, StatusCode::OK);
    state.admission.shed(0.0);
    let (status, _, _) = send_raw(&router, Method::POST, "/predict", SEED).await;
    assert_eq!(status, StatusCode::OK);
    let (_, _, text) = send_raw(&router, Method::GET, "/metrics", "").await;
    assert!(text.contains("housing_flow_http_refused_total{reason=\"shed\"} 1"), "{text}");
    assert!(text.contains(r#"housing_flow_http_requests_total{route="/predict",status="429"} 1"#), "{text}");
}

#[tokio::test]
async fn injected_errors_answer_503_on_their_route() {
    use crate::serve::admission::InjectedErrors;
    let state = state(None);
    let router = app(state.clone(), LIMIT);
    let all = InjectedErrors { route: "/predict".into(), fraction: 1.0, from_ms: 0, until_ms: u64::MAX };
    state.admission.inject(std::time::Instant::now(), vec![all]);
    let (status, _, body) = send_raw(&router, Method::POST, "/predict", SEED).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert!(body.contains("injected_error"), "{body}");
    let batch = format!("[{SEED}]");
    let (status, _, _) = send_raw(&router, Method::POST, "/predict/batch", &batch).await;
    assert_eq!(status, StatusCode::OK, "another route is untouched");
}

/// One `GET` on a kept-alive connection; the answer's body.
fn get_on(stream: &mut std::net::TcpStream, path: &str) -> String {
    use std::io::{Read, Write};
    write!(stream, "GET {path} HTTP/1.1\r\nHost: test\r\n\r\n").unwrap();
    let mut got = Vec::new();
    let mut buf = [0u8; 1024];
    loop {
        let n = stream.read(&mut buf).unwrap();
        assert!(n > 0, "the connection closed: {}", String::from_utf8_lossy(&got));
        got.extend_from_slice(&buf[..n]);
        let text = String::from_utf8_lossy(&got).to_string();
        if let Some((head, body)) = text.split_once("\r\n\r\n") {
            let length: usize = head
                .lines()
                .find_map(|l| l.to_ascii_lowercase().strip_prefix("content-length:").map(|v| v.trim().parse().unwrap()))
                .expect("a content-length");
            if body.len() >= length {
                return body[..length].to_string();
            }
        }
    }
}

/// The accept loop on its own thread, serving `router` on `threads`, until `stop` is sent.
fn accepting(
    router: Router,
    threads: Arc<listener::ConnectionThreads>,
) -> (std::net::SocketAddr, tokio::sync::oneshot::Sender<()>, std::thread::JoinHandle<()>) {
    let bound = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    bound.set_nonblocking(true).unwrap();
    let addr = bound.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let state = state(None);
    let acceptor = std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        runtime.block_on(async move {
            let listener = tokio::net::TcpListener::from_std(bound).unwrap();
            let shutdown = async move {
                let _ = stopped.await;
            };
            listener::serve(listener, router, listener::Limits::default(), state, &threads, shutdown).await;
        });
    });
    (addr, stop, acceptor)
}

#[test]
fn each_connection_stays_on_one_thread_and_connections_spread_over_the_threads() {
    let threads = Arc::new(listener::ConnectionThreads::start(2).unwrap());
    assert_eq!(threads.len(), 2);
    let router: Router =
        Router::new().route("/thread", get(|| async { std::thread::current().name().unwrap_or("?").to_string() }));
    let (addr, stop, acceptor) = accepting(router, threads.clone());
    let mut clients: Vec<_> = (0..4).map(|_| std::net::TcpStream::connect(addr).unwrap()).collect();
    let mut names = std::collections::BTreeSet::new();
    for client in &mut clients {
        let first = get_on(client, "/thread");
        assert!(first.starts_with("http-"), "served on {first}");
        for _ in 0..3 {
            assert_eq!(get_on(client, "/thread"), first, "a connection moved to another thread");
        }
        names.insert(first);
    }
    assert_eq!(names.len(), 2, "four connections on {names:?}");
    assert_eq!(threads.open(), vec![2, 2]);
    drop(clients);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while threads.open() != vec![0, 0] && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    assert_eq!(threads.open(), vec![0, 0], "closed connections are uncounted from their threads");
    stop.send(()).unwrap();
    acceptor.join().unwrap();
}

#[test]
fn a_connection_is_served_on_the_cpu_its_client_sends_from() {
    let threads = Arc::new(listener::ConnectionThreads::per_cpu().unwrap());
    let cpus = affinity::allowed_cpus();
    assert_eq!(threads.len(), cpus.len());
    let router: Router = Router::new().route(
        "/cpu",
        get(|| async { format!("{} {:?}", std::thread::current().name().unwrap_or("?"), affinity::current_cpu()) }),
    );
    let (addr, stop, acceptor) = accepting(router, threads.clone());
    // From the last CPU first: the least loaded thread (all hold none) would be the first CPU's.
    for &cpu in cpus.iter().rev() {
        // A client pinned to `cpu`: its connection's packets arrive there.
        let answers = std::thread::spawn(move || {
            affinity::pin_to(cpu).unwrap();
            let mut client = std::net::TcpStream::connect(addr).unwrap();
            (0..3).map(|_| get_on(&mut client, "/cpu")).collect::<Vec<_>>()
        })
        .join()
        .unwrap();
        for answer in answers {
            assert_eq!(answer, format!("http-{cpu} Some({cpu})"), "a client on CPU {cpu}");
        }
    }
    stop.send(()).unwrap();
    acceptor.join().unwrap();
}
