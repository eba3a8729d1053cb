//! `housing-flow auction` on the shipped auction files, run by the real binary in a fresh
//! folder: identical outcomes on 1 and 2 workers, the market's rules checked on every recorded
//! auction, the learner against fixed shading, and report.html opened in headless Chromium.

mod common;

use common::{chromium, project, run_to_end};
use serde_json::Value;
use std::path::Path;
use std::time::Duration;

fn auction(dir: &Path, file: &str, workers: &str, json: &str) -> (String, Value) {
    let (code, out, err) =
        run_to_end(dir, &["auction", file, "--workers", workers, "--json", json], Duration::from_secs(300));
    assert_eq!(code, 0, "auction {file} failed:\n{out}\n{err}");
    let v = serde_json::from_slice(&std::fs::read(dir.join(json)).unwrap()).unwrap();
    (out, v)
}

#[test]
fn outcomes_are_identical_on_one_and_two_workers_and_obey_the_rules() {
    let dir = project("auction-rules", true);
    for (file, name, levels) in [
        ("scenarios/open_house.hf", "open_house", 1),
        ("scenarios/sealed_bids.hf", "sealed_bids", 1),
        ("scenarios/vickrey_sweep.hf", "vickrey_sweep", 5),
    ] {
        let (out, one) = auction(&dir, file, "1", "one.json");
        let (_, two) = auction(&dir, file, "2", "two.json");
        assert_eq!(
            std::fs::read(dir.join("one.json")).unwrap(),
            std::fs::read(dir.join("two.json")).unwrap(),
            "{file}: 1 and 2 workers differ"
        );
        assert!(out.contains(&format!("auction {name}:")), "{out}");
        let levels_v = one[name]["levels"].as_array().unwrap();
        assert_eq!(levels_v.len(), levels, "{file}");
        assert_eq!(two[name]["levels"].as_array().unwrap().len(), levels);
        let declared = declaration(&dir, file);
        for level in levels_v {
            check_rules(file, level, &declared);
        }
    }
}

/// The budgets and rule of the file, read back through `explain`-free means: the report's declaration.
fn declaration(dir: &Path, file: &str) -> Value {
    let report = std::fs::read_to_string(dir.join(file)).unwrap();
    let folder = report.lines().find_map(|l| l.trim().strip_prefix("report \"")).unwrap().trim_end_matches('"');
    let path = dir.join("scenarios").join(folder).join("report.json");
    serde_json::from_slice::<Value>(&std::fs::read(&path).unwrap()).unwrap()["declaration"].clone()
}

/// Every recorded auction: no bid above what its bidder had left, unsold only when no bid
/// reached the reserve, prices at or above the reserve, English prices within one increment
/// of the runner-up, sealed rules paying what they say.
fn check_rules(file: &str, level: &Value, declaration: &Value) {
    let groups = declaration["bidders"].as_array().unwrap();
    let mut budget_left: Vec<f64> = Vec::new();
    for g in groups {
        for _ in 0..g["count"].as_u64().unwrap() {
            budget_left.push(g["budget"].as_f64().unwrap_or(f64::INFINITY));
        }
    }
    let rule = declaration["rule"]["kind"].as_str().unwrap().to_string();
    let increment = declaration["rule"]["increment"].as_f64().unwrap_or(0.0);
    let auctions = level["auctions"].as_array().unwrap();
    let mut budget_bound = false;
    for (i, a) in auctions.iter().enumerate() {
        assert_eq!(a["position"].as_u64(), Some(i as u64), "{file}: auctions out of order");
        let reserve = a["reserve"].as_f64().unwrap();
        let mut amounts: Vec<f64> = Vec::new();
        for b in a["bids"].as_array().unwrap() {
            let (bidder, amount) = (b["bidder"].as_u64().unwrap() as usize, b["amount"].as_f64().unwrap());
            assert!(
                amount <= budget_left[bidder] + 1e-6,
                "{file} auction {i}: bidder {bidder} bid {amount} with {} left",
                budget_left[bidder]
            );
            budget_bound |= amount >= budget_left[bidder] - 1e-6 && budget_left[bidder].is_finite();
            amounts.push(amount);
        }
        amounts.sort_by(|a, b| b.total_cmp(a));
        let best = amounts.first().copied().unwrap_or(f64::NEG_INFINITY);
        match a["winner"].as_u64() {
            None => assert!(best < reserve, "{file} auction {i}: unsold although {best} ≥ reserve {reserve}"),
            Some(w) => {
                let price = a["price"].as_f64().unwrap();
                assert!(price >= reserve - 1e-6 && price <= best + 1e-6, "{file} auction {i}: price {price}");
                let runner_up = amounts.get(1).copied().filter(|&r| r >= reserve);
                match (rule.as_str(), runner_up) {
                    ("english", Some(r)) => {
                        let step = increment * a["estimate"].as_f64().unwrap().abs();
                        assert!(
                            (price - r).abs() <= step + 1e-6,
                            "{file} auction {i}: English price {price}, runner-up {r}, step {step}"
                        );
                    }
                    ("second_price", Some(r)) => assert!((price - r).abs() < 1e-6),
                    ("second_price", None) | ("english", None) => assert!((price - reserve).abs() < 1e-6),
                    ("first_price", _) => assert!((price - best).abs() < 1e-6),
                    (other, _) => panic!("unknown rule {other}"),
                }
                budget_left[w as usize] -= price;
            }
        }
    }
    if file.contains("sealed_bids") {
        assert!(budget_bound || budget_left.iter().all(|b| !b.is_finite() || *b > 0.0));
    }
}

#[test]
fn the_learner_beats_fixed_shading_under_first_price() {
    // The shipped file as shipped: the market the README quotes.
    let dir = project("auction-learner", false);
    let (_, v) = auction(&dir, "scenarios/sealed_bids.hf", "2", "out.json");
    let learners = v["sealed_bids"]["levels"][0]["summary"]["learners"].as_array().unwrap().clone();
    assert_eq!(learners.len(), 1);
    let l = &learners[0];
    let learned = l["learned_surplus"].as_f64().unwrap();
    let fixed: Vec<f64> = l["fixed"].as_array().unwrap().iter().map(|p| p[1].as_f64().unwrap()).collect();
    let mean = fixed.iter().sum::<f64>() / fixed.len() as f64;
    assert!(learned > fixed[0], "learning ({learned}) did not beat keeping its first level ({})", fixed[0]);
    assert!(learned > mean, "learning ({learned}) did not beat a fixed level on average ({mean}): {fixed:?}");
}

/// Pixels of a color in a PNG.
fn pixels_of(png_path: &Path, rgb: [u8; 3]) -> usize {
    let decoder = png::Decoder::new(std::fs::File::open(png_path).unwrap());
    let mut reader = decoder.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size()];
    let info = reader.next_frame(&mut buf).unwrap();
    let channels = info.color_type.samples();
    buf[..info.buffer_size()].chunks(channels).filter(|p| p[0] == rgb[0] && p[1] == rgb[1] && p[2] == rgb[2]).count()
}

#[test]
fn the_report_renders_its_charts_in_chromium() {
    let dir = project("auction-report", true);
    let (code, out, err) = run_to_end(&dir, &["auction", "scenarios/sealed_bids.hf"], Duration::from_secs(300));
    assert_eq!(code, 0, "{out}\n{err}");
    let report = dir.join("reports/sealed_bids");
    for f in ["report.json", "report.md", "report.html"] {
        assert!(report.join(f).exists(), "{f} missing");
    }
    let (dom, log) = chromium(&report.join("report.html"), &dir.join("shot.png"));
    for id in ["clearing-vs-true", "surplus-by-group", "prices-by-bias", "learner-shading"] {
        let start = dom.find(&format!("id=\"{id}\"")).unwrap_or_else(|| panic!("chart {id} is not in the page"));
        let chart = &dom[start..start + dom[start..].find("</svg>").unwrap()];
        let drawn = chart.matches(" d=\"M").count();
        assert!(drawn >= 1, "chart {id} has no drawn path");
    }
    // 1,797 sold listings in the scatter: its one marker path holds one square per sale.
    let scatter = &dom[dom.find("id=\"clearing-vs-true\"").unwrap()..];
    let points = &scatter[scatter.find("class=\"points\"").unwrap()..];
    let squares = points[..points.find('>').unwrap()].matches('z').count();
    let sold = serde_json::from_slice::<Value>(&std::fs::read(report.join("report.json")).unwrap()).unwrap()["levels"]
        [0]["summary"]["sold"]
        .as_u64()
        .unwrap() as usize;
    assert_eq!(squares, sold, "one marker per sold listing");
    assert!(!log.contains("Uncaught") && !log.contains(":ERROR:CONSOLE"), "the page logged errors:\n{log}");
    // The screenshot shows the charts: the first series color (#1f77b4) covers many pixels.
    let blue = pixels_of(&dir.join("shot.png"), [0x1f, 0x77, 0xb4]);
    assert!(blue > 500, "only {blue} pixels of the chart color in the screenshot");
}

#[test]
fn run_refuses_an_auction_file_and_names_the_auction_command() {
    let dir = project("auction-run", true);
    let (code, _, err) =
        run_to_end(&dir, &["run", "scenarios/open_house.hf", "--events", "10"], Duration::from_secs(60));
    assert_ne!(code, 0);
    assert!(err.contains("declares auction `open_house`") && err.contains("housing-flow auction"), "{err}");
    assert!(!dir.join("models").exists(), "work started before the refusal");
}
