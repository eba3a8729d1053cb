use super::*;
use crate::data::generator::Generator;
use crate::model::serving::{Prediction, ServingModel};
use crate::model::train::{train, TrainOptions};
use crate::plan::ModelPlan;
use axum::body::Body;
use axum::http::{Method, Request};
use proptest::prelude::*;
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
        Registry::open(&dir).register(&model.model.name, &t.files, t.meta).unwrap();
        (model, schema, dir)
    })
}

fn state(store: Option<Arc<PredictionStore>>) -> Arc<AppState> {
    let (model, schema, dir) = trained();
    let registry = Registry::open(dir);
    let serving =
        ServingModel::production(&registry, &model.model.name, &model.features, model.model.predictor).unwrap();
    Arc::new(AppState {
        schema: schema.clone(),
        handle: Arc::new(ModelHandle::new(serving)),
        store,
        registry,
        model_name: model.model.name.clone(),
        next_id: AtomicU64::new(FIRST_HTTP_ID),
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
