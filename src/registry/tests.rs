use super::directory::STAGING_PREFIX;
use super::meta::HoldoutMetrics;
use super::*;
use crate::program::FeatureType;
use crate::registry::meta::{FeatureMeta, QuantileFile, TrainingInfo};
use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Barrier};

/// A registry root under the temp dir, removed when dropped.
struct TempRoot(PathBuf);

impl TempRoot {
    fn new(tag: &str) -> TempRoot {
        TempRoot(std::env::temp_dir().join(format!("hf-registry-{tag}-{}", durable::unique_suffix())))
    }
    fn registry(&self) -> DirectoryRegistry {
        DirectoryRegistry::open(&self.0)
    }
}

impl Drop for TempRoot {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

fn meta() -> ModelMeta {
    ModelMeta {
        name: String::new(),
        version: 0,
        created: "2025-01-02T03:04:05Z".into(),
        features: vec![
            FeatureMeta { name: "income".into(), kind: FeatureType::Numeric },
            FeatureMeta { name: "rooms".into(), kind: FeatureType::Numeric },
        ],
        categories: BTreeMap::new(),
        label: "price".into(),
        params: BTreeMap::from([("num_leaves".into(), "31".into())]),
        quantiles: vec![
            QuantileFile { alpha: 0.1, file: "q0.1.txt".into() },
            QuantileFile { alpha: 0.9, file: "q0.9.txt".into() },
        ],
        training: TrainingInfo {
            source: "generate(seed 7, 100 rows)".into(),
            data_hash: "ab".repeat(32),
            rows: 100,
            train_rows: 80,
            holdout_rows: 20,
            seed: 7,
            seconds: 0.5,
        },
        metrics: HoldoutMetrics {
            r2: 0.9,
            rmse: 1.5,
            mae: 1.0,
            coverage: Some(0.8),
            nominal_coverage: Some(0.8),
            baseline_r2: 0.7,
            baseline_rmse: 2.5,
            baseline_mae: 2.0,
        },
        baselines: BTreeMap::new(),
        checksums: BTreeMap::new(),
        external: false,
    }
}

/// Files whose bytes say which writer made them; `size` makes writes long enough to overlap.
fn files(tag: &str, size: usize) -> Vec<(String, Vec<u8>)> {
    let body = |kind: &str| {
        let mut b = format!("{kind} of {tag}\n").into_bytes();
        b.resize(size.max(b.len()), b'x');
        b
    };
    vec![("model.txt".into(), body("model")), ("q0.1.txt".into(), body("q0.1")), ("q0.9.txt".into(), body("q0.9"))]
}

fn corrupt_file(err: &RegistryError) -> Option<&str> {
    match err {
        RegistryError::Corrupt { file, .. } => Some(file),
        _ => None,
    }
}

#[test]
fn register_list_load_round_trip() {
    let root = TempRoot::new("round-trip");
    let reg = root.registry();
    assert_eq!(reg.list().unwrap(), vec![], "an absent root is an empty registry");

    let v1 = reg.register("housing", &files("one", 10), meta()).unwrap();
    let v2 = reg.register("housing", &files("two", 10), meta()).unwrap();
    assert_eq!((v1, v2), (1, 2));
    assert_eq!(
        reg.list().unwrap(),
        vec![ModelSummary { name: "housing".into(), versions: vec![1, 2], production: Some(1), candidate: Some(2) }]
    );

    let loaded = reg.load("housing", 2).unwrap();
    assert_eq!(loaded.meta.name, "housing");
    assert_eq!(loaded.meta.version, 2);
    assert_eq!(loaded.meta.features, meta().features);
    let expected: BTreeMap<String, Vec<u8>> = files("two", 10).into_iter().collect();
    assert_eq!(loaded.files, expected);
    for (file, bytes) in &expected {
        assert_eq!(loaded.meta.checksums[file], sha256_hex(bytes));
    }
    assert_eq!(reg.meta("housing", 2).unwrap(), loaded.meta);

    let infos = reg.versions("housing").unwrap();
    assert_eq!(infos.len(), 2);
    assert_eq!(infos[0].pointers, vec![Pointer::Production]);
    assert_eq!(infos[1].pointers, vec![Pointer::Candidate]);
    assert!(infos.iter().all(|i| i.status == VersionStatus::Ok));
    assert_eq!(infos[1].metrics.as_ref().unwrap().r2, 0.9);
    assert_eq!(infos[1].created.as_deref(), Some("2025-01-02T03:04:05Z"));

    let history = reg.history("housing").unwrap();
    assert_eq!(history.len(), 1);
    assert_eq!((history[0].from, history[0].to, history[0].action), (None, 1, MoveAction::Initial));
}

#[test]
fn versions_are_never_overwritten() {
    let root = TempRoot::new("immutable");
    let reg = root.registry();
    reg.register("m", &files("first", 10), meta()).unwrap();
    let before = fs::read(reg.version_dir("m", 1).join("model.txt")).unwrap();

    // A directory already holding number 2 (say, written by hand) must be left alone.
    fs::create_dir(reg.version_dir("m", 2)).unwrap();
    fs::write(reg.version_dir("m", 2).join("keep"), b"mine").unwrap();
    assert_eq!(reg.register("m", &files("second", 10), meta()).unwrap(), 3);

    assert_eq!(fs::read(reg.version_dir("m", 1).join("model.txt")).unwrap(), before);
    assert_eq!(fs::read(reg.version_dir("m", 2).join("keep")).unwrap(), b"mine");
    assert_eq!(reg.load("m", 3).unwrap().files["model.txt"], files("second", 10)[0].1);
}

#[test]
fn bad_names_and_files_are_refused() {
    let root = TempRoot::new("names");
    let reg = root.registry();
    let long = "a".repeat(MAX_NAME_LEN + 1);
    for name in ["../x", "a/b", "", long.as_str(), "..", "a\\b", "a b", "é"] {
        let err = reg.register(name, &files("x", 1), meta()).unwrap_err();
        assert!(matches!(err, RegistryError::InvalidName { .. }), "{name:?}: {err}");
        assert!(matches!(reg.load(name, 1), Err(RegistryError::InvalidName { .. })), "{name:?}");
        assert!(matches!(reg.promote(name, 1, "x"), Err(RegistryError::InvalidName { .. })), "{name:?}");
    }
    assert!(!root.0.exists(), "a refused name writes nothing");
    assert_eq!(reg.register(&"a".repeat(MAX_NAME_LEN), &files("x", 1), meta()).unwrap(), 1);

    let with = |extra: (&str, &[u8])| {
        let mut f = files("x", 1);
        f.push((extra.0.into(), extra.1.to_vec()));
        f
    };
    for bad in
        [with(("../evil", b"x")), with(("meta.json", b"{}")), with(("model.txt", b"again")), with((".hidden", b""))]
    {
        let err = reg.register("m", &bad, meta()).unwrap_err();
        assert!(matches!(err, RegistryError::InvalidFile { .. }), "{err}");
    }
    let missing_quantile: Vec<_> = files("x", 1).into_iter().filter(|(f, _)| f != "q0.9.txt").collect();
    let err = reg.register("m", &missing_quantile, meta()).unwrap_err();
    assert!(err.to_string().contains("q0.9.txt"), "{err}");

    let mut nan = meta();
    nan.metrics.r2 = f64::NAN;
    assert!(matches!(reg.register("m", &files("x", 1), nan), Err(RegistryError::InvalidMeta { .. })));
    assert!(matches!(reg.versions("m"), Err(RegistryError::ModelNotFound { .. })), "nothing was registered as m");
}

#[test]
fn corrupt_versions_are_reported_and_never_promoted() {
    type Damage = fn(&Path);
    let cases: [(&str, Damage, &str); 6] = [
        ("flipped byte", |d| flip_byte(&d.join("model.txt")), "model.txt"),
        ("truncated", |d| truncate(&d.join("q0.1.txt")), "q0.1.txt"),
        ("deleted file", |d| fs::remove_file(d.join("q0.9.txt")).unwrap(), "q0.9.txt"),
        ("deleted meta.json", |d| fs::remove_file(d.join("meta.json")).unwrap(), "meta.json"),
        ("garbage meta.json", |d| fs::write(d.join("meta.json"), b"{\"name\": 12, garbage").unwrap(), "meta.json"),
        ("half-written meta.json", |d| truncate(&d.join("meta.json")), "meta.json"),
    ];
    for (case, damage, file) in cases {
        let root = TempRoot::new("corrupt");
        let reg = root.registry();
        reg.register("m", &files("good", 100), meta()).unwrap();
        reg.register("m", &files("bad", 100), meta()).unwrap();
        damage(&reg.version_dir("m", 2));

        let err = reg.load("m", 2).unwrap_err();
        assert_eq!(corrupt_file(&err), Some(file), "{case}: {err}");
        let msg = err.to_string();
        assert!(msg.contains("model `m` version 2 is corrupt") && msg.contains(file), "{case}: {msg}");

        let infos = reg.versions("m").unwrap();
        assert_eq!(infos[0].status, VersionStatus::Ok, "{case}");
        assert!(matches!(&infos[1].status, VersionStatus::Corrupt { file: f, .. } if f == file), "{case}");

        let stamp = reg.production_stamp("m").unwrap();
        let err = reg.promote("m", 2, "try it").unwrap_err();
        assert_eq!(corrupt_file(&err), Some(file), "{case}: {err}");
        assert_eq!(reg.production_stamp("m").unwrap(), stamp, "{case}: production moved");
        assert_eq!(reg.history("m").unwrap().len(), 1, "{case}: a refused promotion is not history");
    }
}

fn flip_byte(path: &Path) {
    let mut b = fs::read(path).unwrap();
    b[5] ^= 0x01;
    fs::write(path, b).unwrap();
}

fn truncate(path: &Path) {
    let b = fs::read(path).unwrap();
    fs::write(path, &b[..b.len() / 2]).unwrap();
}

#[test]
fn leftover_staging_directories_are_ignored() {
    let root = TempRoot::new("staging");
    let reg = root.registry();
    reg.register("m", &files("one", 10), meta()).unwrap();
    // What a crash mid-register leaves: a staging directory with some files and no meta.json.
    let staging = root.0.join("m").join(".staging-99999-1-0");
    fs::create_dir(&staging).unwrap();
    fs::write(staging.join("model.txt"), b"half").unwrap();
    fs::write(root.0.join("m").join("notes.txt"), b"not a version").unwrap();

    assert_eq!(reg.list().unwrap()[0].versions, vec![1]);
    assert_eq!(reg.versions("m").unwrap().len(), 1);
    assert_eq!(reg.register("m", &files("two", 10), meta()).unwrap(), 2);
    assert!(staging.join("model.txt").exists(), "another writer's staging directory is not touched");
}

#[test]
fn rollback_walks_back_over_corrupt_versions() {
    let root = TempRoot::new("rollback");
    let reg = root.registry();
    for i in 1..=4 {
        assert_eq!(reg.register("m", &files(&i.to_string(), 10), meta()).unwrap(), i);
    }
    assert!(matches!(reg.rollback("m", "nothing before 1"), Err(RegistryError::NoRollbackTarget { .. })));
    for v in [2, 3, 4] {
        reg.promote("m", v, "better holdout").unwrap();
    }
    reg.promote("m", 4, "again").unwrap();
    assert_eq!(reg.history("m").unwrap().len(), 4, "promoting the production version is not a move");

    assert_eq!(reg.rollback("m", "latency").unwrap(), 3);
    assert_eq!(reg.production("m").unwrap(), Some(3));
    flip_byte(&reg.version_dir("m", 2).join("model.txt"));
    assert_eq!(reg.rollback("m", "drift").unwrap(), 1, "corrupt version 2 is skipped");
    let err = reg.rollback("m", "more").unwrap_err();
    assert!(matches!(&err, RegistryError::NoRollbackTarget { skipped, .. } if skipped.is_empty()), "{err}");
    assert_eq!(reg.production("m").unwrap(), Some(1));

    // A promotion after rollbacks stacks on the version it replaced.
    reg.promote("m", 4, "fixed").unwrap();
    assert_eq!(reg.rollback("m", "not fixed").unwrap(), 1);

    let last = reg.history("m").unwrap().pop().unwrap();
    assert_eq!(
        (last.from, last.to, last.action, last.reason.as_str()),
        (Some(4), 1, MoveAction::Rollback, "not fixed")
    );
    assert_eq!(reg.candidate("m").unwrap(), Some(4), "pointer moves leave the candidate alone");
}

#[test]
fn rollback_reports_skipped_corrupt_versions() {
    let root = TempRoot::new("rollback-skip");
    let reg = root.registry();
    reg.register("m", &files("1", 10), meta()).unwrap();
    reg.register("m", &files("2", 10), meta()).unwrap();
    reg.promote("m", 2, "go").unwrap();
    truncate(&reg.version_dir("m", 1).join("model.txt"));
    let err = reg.rollback("m", "back").unwrap_err();
    assert!(matches!(&err, RegistryError::NoRollbackTarget { skipped, .. } if skipped == &[1]), "{err}");
    assert!(err.to_string().contains("skipped corrupt or missing version 1"), "{err}");
    assert_eq!(reg.production("m").unwrap(), Some(2));
}

#[test]
fn concurrent_registers_from_eight_threads_get_distinct_intact_versions() {
    let root = TempRoot::new("threads");
    let reg = root.registry();
    let barrier = Arc::new(Barrier::new(8));
    let handles: Vec<_> = (0..8)
        .map(|i| {
            let (reg, barrier) = (reg.clone(), barrier.clone());
            std::thread::spawn(move || {
                barrier.wait();
                (i, reg.register("m", &files(&format!("thread {i}"), 256 * 1024), meta()).unwrap())
            })
        })
        .collect();
    let got: Vec<(usize, u32)> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    let versions: BTreeSet<u32> = got.iter().map(|&(_, v)| v).collect();
    assert_eq!(versions, (1..=8).collect());
    for (i, v) in got {
        assert_eq!(reg.load("m", v).unwrap().files["model.txt"], files(&format!("thread {i}"), 256 * 1024)[0].1);
    }
    assert_eq!(reg.candidate("m").unwrap(), Some(8));
    let history = reg.history("m").unwrap();
    assert_eq!(history.len(), 1, "exactly one register found no production");
    assert_eq!(reg.production("m").unwrap(), Some(history[0].to));
    let leftovers = fs::read_dir(root.0.join("m"))
        .unwrap()
        .filter_map(|e| e.ok())
        .any(|e| e.file_name().to_string_lossy().starts_with(STAGING_PREFIX));
    assert!(!leftovers, "no staging directory is left behind");
}

const CHILD_ROOT: &str = "HF_REGISTRY_TEST_CHILD_ROOT";
const CHILD_TAG: &str = "HF_REGISTRY_TEST_CHILD_TAG";

/// Registers 4 versions from 4 threads into the root the parent test names; a no-op otherwise.
#[test]
#[ignore = "run as a child process by concurrent_registers_from_two_processes"]
fn child_process_registers() {
    let (Ok(root), Ok(tag)) = (std::env::var(CHILD_ROOT), std::env::var(CHILD_TAG)) else { return };
    let reg = DirectoryRegistry::open(root);
    let handles: Vec<_> = (0..4)
        .map(|i| {
            let (reg, tag) = (reg.clone(), tag.clone());
            std::thread::spawn(move || reg.register("m", &files(&format!("{tag} {i}"), 256 * 1024), meta()).unwrap())
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
}

#[test]
fn concurrent_registers_from_two_processes() {
    let root = TempRoot::new("processes");
    let exe = std::env::current_exe().unwrap();
    let children: Vec<_> = ["alpha", "beta"]
        .iter()
        .map(|tag| {
            std::process::Command::new(&exe)
                .args(["--exact", "registry::tests::child_process_registers", "--ignored", "--test-threads=1"])
                .env(CHILD_ROOT, &root.0)
                .env(CHILD_TAG, tag)
                .stdout(std::process::Stdio::null())
                .spawn()
                .unwrap()
        })
        .collect();
    for mut c in children {
        assert!(c.wait().unwrap().success());
    }
    let reg = root.registry();
    let infos = reg.versions("m").unwrap();
    assert_eq!(infos.iter().map(|i| i.version).collect::<Vec<_>>(), (1..=8).collect::<Vec<_>>());
    assert!(infos.iter().all(|i| i.status == VersionStatus::Ok));
    let mut writers = BTreeSet::new();
    for v in 1..=8 {
        let model = reg.load("m", v).unwrap().files.remove("model.txt").unwrap();
        let first_line = String::from_utf8_lossy(&model).lines().next().unwrap().to_string();
        assert!(writers.insert(first_line.clone()), "version {v} repeats {first_line}");
    }
    let expected: BTreeSet<String> =
        ["alpha", "beta"].iter().flat_map(|t| (0..4).map(move |i| format!("model of {t} {i}"))).collect();
    assert_eq!(writers, expected);
}

#[test]
fn pointer_reads_never_see_a_partial_write() {
    let root = TempRoot::new("pointer");
    let reg = root.registry();
    reg.register("m", &files("1", 10), meta()).unwrap();
    reg.register("m", &files("2", 10), meta()).unwrap();
    let done = Arc::new(AtomicBool::new(false));
    let reads = Arc::new(AtomicUsize::new(0));
    let reader = {
        let (reg, done, reads) = (reg.clone(), done.clone(), reads.clone());
        let path = root.0.join("m").join("production");
        std::thread::spawn(move || {
            while !done.load(Ordering::Relaxed) {
                let raw = fs::read_to_string(&path).unwrap();
                assert!(matches!(raw.as_str(), "1\n" | "2\n"), "read {raw:?}");
                let (v, _) = reg.production_stamp("m").unwrap().unwrap();
                assert!(v == 1 || v == 2);
                reads.fetch_add(1, Ordering::Relaxed);
            }
        })
    };
    while reads.load(Ordering::Relaxed) == 0 && !reader.is_finished() {
        std::thread::yield_now();
    }
    for i in 0..200 {
        reg.promote("m", 2 - (i % 2), "flip").unwrap();
    }
    done.store(true, Ordering::Relaxed);
    reader.join().unwrap();
    assert_eq!(reg.history("m").unwrap().len(), 201);
}

#[test]
fn production_stamp_changes_when_production_moves() {
    let root = TempRoot::new("stamp");
    let reg = root.registry();
    assert!(matches!(reg.production_stamp("m"), Err(RegistryError::ModelNotFound { .. })));
    reg.register("m", &files("1", 10), meta()).unwrap();
    reg.register("m", &files("2", 10), meta()).unwrap();
    let (v, _) = reg.production_stamp("m").unwrap().unwrap();
    assert_eq!(v, 1);
    reg.promote("m", 2, "go").unwrap();
    assert_eq!(reg.production_stamp("m").unwrap().unwrap().0, 2);
}

#[test]
fn a_garbage_pointer_is_an_error_naming_it() {
    let root = TempRoot::new("bad-pointer");
    let reg = root.registry();
    reg.register("m", &files("1", 10), meta()).unwrap();
    fs::write(root.0.join("m").join("production"), b"seven").unwrap();
    let err = reg.production("m").unwrap_err();
    assert!(matches!(err, RegistryError::BadPointer { .. }));
    let msg = err.to_string();
    assert!(msg.contains("model `m`") && msg.contains("production") && msg.contains("seven"), "{msg}");
}

#[test]
fn unknown_models_and_versions_are_named_in_errors() {
    let root = TempRoot::new("unknown");
    let reg = root.registry();
    reg.register("m", &files("1", 10), meta()).unwrap();
    let err = reg.load("m", 9).unwrap_err();
    assert!(matches!(err, RegistryError::VersionNotFound { version: 9, .. }));
    assert!(err.to_string().contains("model `m` has no version 9"), "{err}");
    assert!(matches!(reg.promote("m", 9, "x"), Err(RegistryError::VersionNotFound { .. })));
    let err = reg.load("other", 1).unwrap_err();
    assert!(err.to_string().contains("model `other` not found"), "{err}");
}
