//! Any bytes, read as (lossy) UTF-8, go through the whole front end without panicking:
//! parse, check, render the diagnostics, and lower and explain a clean program.

#![no_main]

use housing_flow::check::check_source;
use housing_flow::diagnostics::render_all;
use housing_flow::plan::{explain, lower};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let checked = check_source("fuzz.hf", &text);
    for d in &checked.diagnostics {
        for s in std::iter::once(&d.span).chain(d.secondary.iter().map(|(s, _)| s)) {
            let file = &checked.map.get(s.file).text;
            assert!(s.start <= s.end && s.end <= file.len(), "span {s:?} out of bounds");
            assert!(file.is_char_boundary(s.start) && file.is_char_boundary(s.end), "span {s:?} splits a char");
        }
    }
    let _ = render_all(&checked.map, &checked.diagnostics, false);
    if let Some(program) = &checked.program {
        let _ = explain(&lower(program, 2));
    }
});
