//! `housing-flow load URL --rate R [--seconds S] [--body JSON]`: the scenarios' HTTP traffic
//! agent against any server. Open model: requests start when the schedule says, whatever the
//! server's speed; an arrival that finds every connection's queue full is dropped and counted;
//! latency is measured from each request's due time.

use anyhow::{anyhow, bail, Context};
use housing_flow::program::Pattern;
use housing_flow::scenario::http_agent::{self, AgentSecond, Bodies, Requests};
use housing_flow::scenario::schedule::Schedule;
use std::net::ToSocketAddrs;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// One house, the body every request carries unless `--body` says otherwise.
const HOUSE: &str = r#"{"Avg_Area_Income": 65000, "Avg_Area_House_Age": 7.5, "Avg_Area_Number_of_Rooms": 6.0, "Avg_Area_Number_of_Bedrooms": 3.0, "Area_Population": 42000, "Address": "123 Main St, Austin, TX 78701"}"#;

/// Arguments of `load`.
#[derive(clap::Args, Debug)]
pub struct LoadArgs {
    /// Where every request is POSTed: `http://127.0.0.1:8000/predict`.
    pub url: String,
    /// Arrivals per second: `20000`, `20k`.
    #[arg(long, value_parser = parse_rate)]
    pub rate: f64,
    /// How long to send, in seconds.
    #[arg(long, default_value_t = 10.0)]
    pub seconds: f64,
    /// The JSON body of every request (default: one house of the default pipeline's schema).
    #[arg(long)]
    pub body: Option<String>,
    /// Also write the seconds as JSON here.
    #[arg(long)]
    pub json: Option<PathBuf>,
}

/// `20000`, `20k`, `1.5M`, with an optional `/s` (counts as `produce` reads them).
fn parse_rate(s: &str) -> Result<f64, String> {
    let t = s.trim();
    match super::produce::parse_count(t.strip_suffix("/s").unwrap_or(t)) {
        Ok(n) if n > 0 => Ok(n as f64),
        _ => Err(format!("`{s}` is not a rate: write 20000, 20k or 20k/s")),
    }
}

pub fn run(args: &LoadArgs) -> anyhow::Result<()> {
    let url = reqwest::Url::parse(&args.url).with_context(|| format!("`{}` is not a URL", args.url))?;
    if url.scheme() != "http" {
        bail!("`{}`: only http:// URLs can be loaded", args.url);
    }
    let host = url.host_str().ok_or_else(|| anyhow!("`{}` names no host", args.url))?;
    let port = url.port_or_known_default().unwrap_or(80);
    let addr = (host, port)
        .to_socket_addrs()
        .with_context(|| format!("cannot resolve {host}"))?
        .next()
        .ok_or_else(|| anyhow!("{host} resolves to no address"))?;
    if !(args.seconds.is_finite() && args.seconds > 0.0) {
        bail!("--seconds must be more than 0");
    }
    let mut path = url.path().to_string();
    if let Some(q) = url.query() {
        path = format!("{path}?{q}");
    }
    let body = args.body.clone().unwrap_or_else(|| HOUSE.to_string());
    let requests = Requests { addr, path, bodies: Bodies::Fixed(body.into_bytes()) };
    let schedule = Schedule::new(&[Pattern::Constant { rate: args.rate, for_ms: None }]);
    let stop = Arc::new(AtomicBool::new(false));
    let flag = stop.clone();
    if let Err(e) = ctrlc::set_handler(move || flag.store(true, Ordering::Relaxed)) {
        tracing::warn!("cannot handle Ctrl-C: {e}");
    }
    let duration = Duration::from_secs_f64(args.seconds);
    println!(
        "POST {} at {} requests/s for {} s over {} connections",
        args.url,
        args.rate,
        args.seconds,
        http_agent::CONNECTIONS
    );
    let (stats, handle) = http_agent::start(requests, schedule, duration, Instant::now(), stop);
    let _ = handle.join();
    let seconds = stats.seconds();
    for (t, s) in seconds.iter().enumerate() {
        println!("{}", line(&format!("{:>4} s", t + 1), s));
    }
    let mut total = http_agent::AgentSecond::default();
    for s in &seconds {
        total.add(s);
    }
    println!("{}", line("total", &total));
    let answered = total.ok + total.shed + total.errors;
    println!(
        "{:.0} requests/s answered; {} dropped ({:.2}%)",
        answered as f64 / args.seconds,
        total.dropped,
        100.0 * total.dropped as f64 / (total.sent + total.dropped).max(1) as f64
    );
    if let Some(path) = &args.json {
        let rows: Vec<serde_json::Value> = seconds.iter().enumerate().map(|(t, s)| s.row(t + 1)).collect();
        std::fs::write(path, serde_json::to_vec_pretty(&rows)?)
            .with_context(|| format!("cannot write {}", path.display()))?;
    }
    Ok(())
}

fn ms(s: &AgentSecond, q: f64) -> f64 {
    s.ms(q).unwrap_or(0.0)
}

fn line(label: &str, s: &AgentSecond) -> String {
    format!(
        "{label:>6}  sent {:>8}  2xx {:>8}  429 {:>6}  failed {:>6}  dropped {:>7}  p50 {:>7.2} ms  p99 {:>7.2} ms  p999 {:>7.2} ms",
        s.sent,
        s.ok,
        s.shed,
        s.errors,
        s.dropped,
        ms(s, 0.5),
        ms(s, 0.99),
        ms(s, 0.999)
    )
}

#[cfg(test)]
mod tests {
    use super::parse_rate;

    #[test]
    fn rates_take_magnitudes_and_a_unit() {
        assert_eq!(parse_rate("20000"), Ok(20_000.0));
        assert_eq!(parse_rate("20k"), Ok(20_000.0));
        assert_eq!(parse_rate("1.5M/s"), Ok(1_500_000.0));
        assert_eq!(parse_rate("2_000/s"), Ok(2_000.0));
        assert!(parse_rate("fast").is_err() && parse_rate("0").is_err() && parse_rate("-5").is_err());
    }
}
