//! `housing-flow scenario FILE [--workers N] [--name SCENARIO]`

use super::{runnable, Exit};
use anyhow::bail;
use housing_flow::engine::session::prepare;
use housing_flow::plan;
use housing_flow::scenario::{self, report, ScenarioRun, EXIT_EXPECTATION_FAILED};
use housing_flow::serve::admission::Admission;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// Arguments of `scenario`.
#[derive(clap::Args, Debug)]
pub struct ScenarioArgs {
    pub file: PathBuf,
    /// Timely workers for the pipeline.
    #[arg(long, default_value_t = 2)]
    pub workers: usize,
    /// Run only this scenario of the file.
    #[arg(long)]
    pub name: Option<String>,
}

pub fn run(args: &ScenarioArgs) -> anyhow::Result<()> {
    let program = runnable(&args.file, "scenario")?.program.expect("a clean check has a program");
    let scenarios: Vec<_> =
        program.scenarios.iter().filter(|s| args.name.as_deref().is_none_or(|n| n == s.name)).collect();
    if scenarios.is_empty() {
        match &args.name {
            Some(n) => bail!("`{}` declares no scenario `{n}`", args.file.display()),
            None => bail!("`{}` declares no scenario", args.file.display()),
        }
    }
    let plan = plan::lower(&program, args.workers.max(1));
    let stop = Arc::new(AtomicBool::new(false));
    let flag = stop.clone();
    if let Err(e) = ctrlc::set_handler(move || flag.store(true, Ordering::Relaxed)) {
        tracing::warn!("cannot handle Ctrl-C: {e}");
    }
    let mut failed = false;
    for s in scenarios {
        let prepared = prepare(&plan, true).map_err(anyhow::Error::msg)?;
        let server_stop = Arc::new(AtomicBool::new(false));
        let admission = Arc::new(Admission::new(s.seed));
        // A free port: the agent is told where the server is, and nothing else can clash.
        let addr = match &plan.serve {
            Some(serve) => {
                let addr = super::http::start(&prepared, serve, Some(0), server_stop.clone(), admission.clone())
                    .map_err(anyhow::Error::msg)?;
                tracing::info!("scenario `{}`: serving http://{addr}", s.name);
                Some(addr)
            }
            None => None,
        };
        let result = scenario::run(&prepared, s, addr, admission, args.workers.max(1), stop.clone());
        server_stop.store(true, Ordering::Relaxed);
        let run = result.map_err(anyhow::Error::msg)?;
        print!("{}", table(&run));
        if let Some(dir) = &s.report {
            report::write(&run, Path::new(dir)).map_err(anyhow::Error::msg)?;
            println!("report: {dir}/report.html (and report.json, report.md)");
        }
        failed |= !run.passed();
    }
    if failed {
        tracing::error!("an expectation failed or a guardrail aborted the run");
        return Err(Exit(EXIT_EXPECTATION_FAILED).into());
    }
    Ok(())
}

fn table(run: &ScenarioRun) -> String {
    let o = &run.outcome;
    let sent: u64 = run.http.iter().map(|s| s.sent).sum();
    let dropped: u64 = run.http.iter().map(|s| s.dropped).sum();
    let mut out = format!(
        "scenario {}: {:.1} s, {} events in, {} predictions, {} dead letters, {} HTTP requests ({} dropped)\n",
        run.scenario.name, o.seconds, o.events_in, o.predictions, o.dead_letters, sent, dropped
    );
    if let Some((rate, second)) = run.http_rate_held() {
        out += &format!(
            "  highest HTTP rate held (nothing dropped or failed, p99 ≤ {} ms): {rate} requests in second {second}\n",
            run.http_objective_ms()
        );
    }
    if o.dropped_by_fault > 0 {
        out += &format!(
            "  events in = predictions + dead letters + dropped by fault: {} = {} + {} + {}\n",
            o.events_in, o.predictions, o.dead_letters, o.dropped_by_fault
        );
    }
    for d in &run.decisions {
        out += &format!("  guardrail at {:.0} s: `{}` → {}\n", d.t, d.rule, d.outcome);
    }
    if let Some(d) = run.aborted() {
        out += &format!("  ABORTED at {:.0} s by `{}`\n", d.t, d.rule);
    }
    let width = run.judged.iter().map(|j| j.expectation.len()).max().unwrap_or(0);
    for j in &run.judged {
        out += &format!("  {}  {:<width$}  {}\n", if j.passed { "pass" } else { "FAIL" }, j.expectation, j.measured);
    }
    let verdict = if run.aborted().is_some() {
        "aborted by a guardrail"
    } else if run.passed() {
        "all expectations hold"
    } else {
        "an expectation failed"
    };
    out += &format!("{verdict}\n");
    out
}
