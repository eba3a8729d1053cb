//! pest errors → diagnostics with readable "expected ..." lists.

use super::Rule;
use crate::ast::{FileId, Span};
use crate::diagnostics::{Code, Diagnostic};
use pest::error::{ErrorVariant, InputLocation};

/// What a rule is called in an error message.
fn describe(rule: Rule) -> &'static str {
    match rule {
        Rule::ident | Rule::word => "a name",
        Rule::string | Rule::string_body => "a string",
        Rule::number | Rule::quantity => "a number",
        Rule::events_lit => "a number of events",
        Rule::expr | Rule::paren | Rule::list | Rule::map | Rule::boolean => "an expression",
        Rule::arrow | Rule::or | Rule::and | Rule::eq | Rule::ne | Rule::le | Rule::ge | Rule::lt | Rule::gt => {
            "an operator"
        }
        Rule::add | Rule::sub | Rule::mul | Rule::div => "an operator",
        Rule::neg | Rule::pos | Rule::not => "an expression",
        Rule::call => "`(`",
        Rule::member => "`.`",
        Rule::arg | Rule::named_arg => "an argument",
        Rule::map_entry => "`key: value`",
        Rule::schema_field => "a field (`name: type`)",
        Rule::field_type | Rule::category_type => "a type (`f64`, `i64`, `str`, `bool`, `category(...)`)",
        Rule::optional => "`?`",
        Rule::range => "`in lo .. hi`",
        Rule::feature_def => "a feature (`name = expression`)",
        Rule::body => "`{`",
        Rule::property => "`key: value`",
        Rule::target => "a drift target",
        Rule::drift_rule => "a rule (`condition => action`)",
        Rule::for_windows => "`for N windows`",
        Rule::action => "an action",
        Rule::use_decl | Rule::kw_use => "`use`",
        Rule::schema_decl
        | Rule::source_decl
        | Rule::features_decl
        | Rule::model_decl
        | Rule::drift_decl
        | Rule::sink_decl
        | Rule::serve_decl
        | Rule::slo_decl
        | Rule::guardrail_decl
        | Rule::scenario_decl
        | Rule::auction_decl => "a declaration",
        Rule::duration_stmt
        | Rule::seed_stmt
        | Rule::traffic_stmt
        | Rule::at_stmt
        | Rule::expect_stmt
        | Rule::report_stmt
        | Rule::scenario_guard
        | Rule::listings_stmt
        | Rule::bidders_block
        | Rule::rule_stmt
        | Rule::bias_stmt => "a statement",
        Rule::bidder => "a bidder (`persona x N { ... }`)",
        Rule::drift_event => "`drift`",
        Rule::fault_event => "`fault`",
        Rule::fault_spec => "a fault",
        Rule::detection | Rule::kw_detected => "`detected`",
        Rule::timing => "`within`",
        Rule::negated | Rule::kw_not => "`not`",
        Rule::kw_schema => "`schema`",
        Rule::kw_source => "`source`",
        Rule::kw_features => "`features`",
        Rule::kw_model => "`model`",
        Rule::kw_drift => "`drift`",
        Rule::kw_sink => "`sink`",
        Rule::kw_serve => "`serve`",
        Rule::kw_slo => "`slo`",
        Rule::kw_guardrail => "`guardrail`",
        Rule::kw_scenario => "`scenario`",
        Rule::kw_auction => "`auction`",
        Rule::kw_from => "`from`",
        Rule::kw_in => "`in`",
        Rule::kw_on => "`on`",
        Rule::kw_window => "`window`",
        Rule::kw_windows => "`windows`",
        Rule::kw_events => "`events`",
        Rule::kw_for => "`for`",
        Rule::kw_when => "`when`",
        Rule::kw_then => "`then`",
        Rule::kw_at => "`at`",
        Rule::kw_duration => "`duration`",
        Rule::kw_seed => "`seed`",
        Rule::kw_traffic => "`traffic`",
        Rule::kw_fault => "`fault`",
        Rule::kw_expect => "`expect`",
        Rule::kw_report => "`report`",
        Rule::kw_within => "`within`",
        Rule::kw_of => "`of`",
        Rule::kw_where | Rule::drift_where => "`where`",
        Rule::kw_listings => "`listings`",
        Rule::kw_bidders => "`bidders`",
        Rule::kw_x => "`x`",
        Rule::kw_rule => "`rule`",
        Rule::kw_bias => "`bias`",
        Rule::kw_by => "`by`",
        Rule::kw_category => "`category`",
        Rule::reserved => "a keyword",
        Rule::magnitude | Rule::unit | Rule::bad_unit => "a unit",
        Rule::one_decl => "a declaration",
        Rule::WHITESPACE | Rule::COMMENT | Rule::ident_char | Rule::digits => "whitespace",
        Rule::decl => "a declaration",
        _ => "something else",
    }
}

/// Collapses token lists into the words a user thinks in: "an operator" rather than
/// every operator, "an expression" rather than every character that can start one,
/// "a declaration" rather than every declaration keyword.
fn simplify(mut expected: Vec<String>) -> Vec<String> {
    const OPERATORS: &[&str] =
        &["`!=`", "`&&`", "`*`", "`->`", "`/`", "`<=`", "`<`", "`==`", "`>=`", "`>`", "`and`", "`or`", "`||`"];
    // Tokens that start an expression, other than the letters of a name (the rule that
    // wanted a name says "a name" already).
    const STARTS: &[&str] = &["`!`", "`\"`", "`(`", "`+`", "`-`", "`0..9`", "`[`", "`false`", "`true`", "`not`", "`{`"];
    if expected.iter().any(|e| OPERATORS.contains(&e.as_str())) {
        expected.retain(|e| !OPERATORS.contains(&e.as_str()) && e != "`+`" && e != "`-`");
        // After a complete operand: a call `f(`, a member `.x` or `events` could follow too,
        // but an operator or the end of the list is what is meant.
        expected.retain(|e| e != "`(`" && e != "`.`" && e != "`events`");
        expected.push("an operator".into());
    }
    if expected.iter().filter(|e| STARTS.contains(&e.as_str())).count() >= 3 {
        expected.retain(|e| !STARTS.contains(&e.as_str()));
        expected.push("an expression".into());
    }
    if expected.iter().any(|e| e == "an expression") {
        // Each of these is an expression too.
        expected.retain(|e| !["a name", "a number", "a number of events", "a string"].contains(&e.as_str()));
    }
    let keywords = |e: &String| super::DECL_KEYWORDS.iter().any(|k| e.trim_matches('`') == *k);
    if expected.iter().filter(|e| keywords(e)).count() >= 3 {
        expected.retain(|e| !keywords(e));
        expected.push("a declaration".into());
    }
    // Single characters of words (`a..z`, `_`) say less than the rule that wanted a word.
    expected.retain(|e| e == "`..`" || (!e.contains("..") && e != "`_`"));
    expected.sort_unstable();
    expected.dedup();
    expected
}

/// The token at `at`, for "found ..." and the caret width. The end of a line or of the
/// file is an empty span, so the caret stays on the line where the text stops.
fn token_at(src: &str, at: usize) -> (usize, String) {
    let rest = &src[at.min(src.len())..];
    let Some(first) = rest.chars().next() else {
        return (0, "end of file".to_string());
    };
    if first == '\n' || rest.starts_with("\r\n") {
        return (0, "end of line".to_string());
    }
    let len = if first.is_ascii_alphanumeric() || first == '_' {
        rest.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '.')).unwrap_or(rest.len())
    } else {
        first.len_utf8()
    };
    (len, format!("`{}`", &rest[..len]))
}

/// Where a parse failed (in the whole file) and what could have stood there.
fn expected_at(err: &pest::error::Error<Rule>, base: usize) -> (usize, Vec<String>) {
    let mut expected: Vec<String> = Vec::new();
    let location = base
        + match err.location {
            InputLocation::Pos(p) => p,
            InputLocation::Span((s, _)) => s,
        };
    let mut at = location;
    if let Some(attempts) = err.parse_attempts() {
        // The furthest position any rule reached, and the tokens that could go there.
        at = at.max(base + attempts.max_position);
        for t in attempts.expected_tokens() {
            let token = t.to_string();
            if !token.trim().is_empty() && token != "#" {
                expected.push(format!("`{token}`"));
            }
        }
    }
    // The rules pest names were tried at `location`; they say nothing about a later position.
    if let ErrorVariant::ParsingError { positives, .. } = &err.variant {
        if at == location {
            expected.extend(positives.iter().map(|r| describe(*r).to_string()));
        }
    }
    let mut expected = simplify(expected);
    expected.retain(|e| e != "whitespace" && e != "something else");
    (at, expected)
}

fn one_of(expected: &[String]) -> String {
    match expected {
        [] => "something else".to_string(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} or {}", init.join(", "), last),
    }
}

/// "expected ..., found ..." at `at`.
fn diagnostic(src: &str, file: FileId, at: usize, mut expected: Vec<String>) -> Diagnostic {
    let (len, found) = token_at(src, at);
    let line_start = src[..at].rfind('\n').map_or(0, |i| i + 1);
    if at == line_start && expected.iter().any(|e| e == "a declaration") {
        // Text in column 1 is read as a new declaration, whatever else could continue the last one.
        expected.retain(|e| e == "a declaration");
    }
    if expected == ["a name"] && src[..at].trim_end().ends_with("=>") {
        expected = vec!["an action (`alert`, `log`, `rollback`, `abort_canary` or `shed(...)`)".to_string()];
    }
    let wanted = one_of(&expected);
    let mut d = Diagnostic::new(
        Code::Syntax,
        Span::new(file, at, at + len),
        format!("syntax error: expected {wanted}, found {found}"),
    )
    .label(format!("expected {wanted}"));
    if found == "`=`" && expected.iter().any(|e| e == "`:`") {
        d = d.hint("properties are written `key: value`");
    } else if found == "end of line" && expected.iter().any(|e| e == "`\"`") {
        d = d.hint("a string ends with `\"` on the line where it starts");
    } else if expected.iter().any(|e| e == "a declaration") {
        d = d.hint(
            "a file is a list of declarations: use, schema, source, features, model, drift, sink, serve, slo, guardrail, scenario, auction",
        );
    }
    d
}

pub(super) fn from_pest(err: pest::error::Error<Rule>, src: &str, base: usize, file: FileId) -> Diagnostic {
    let (at, expected) = expected_at(&err, base);
    diagnostic(src, file, at, expected)
}

/// The declaration at `base` ran on into the one at `next` (a missing `}` or `)`), and
/// `err` comes from parsing it alone, `base..next`. Unless the text has an error of its
/// own before that, the problem is reported where the next declaration begins.
pub(super) fn unfinished(
    err: pest::error::Error<Rule>,
    src: &str,
    base: usize,
    next: usize,
    file: FileId,
) -> Diagnostic {
    let (at, expected) = expected_at(&err, base);
    if super::skip_trivia(src, at) < next {
        return diagnostic(src, file, at, expected);
    }
    let keyword_len = src[base..].find(|c: char| !c.is_ascii_alphanumeric() && c != '_').unwrap_or(0);
    let keyword = &src[base..base + keyword_len];
    let closer = ["`}`", "`)`", "`]`"].into_iter().find(|c| expected.iter().any(|e| e == c));
    let hint = match closer {
        Some(c) => format!("a declaration ends before the next one begins; is a {c} missing?"),
        None => "a declaration ends before the next one begins; finish this one first".to_string(),
    };
    diagnostic(src, file, next, expected)
        .also(Span::new(file, base, base + keyword_len), format!("this `{keyword}` is not finished"))
        .hint(hint)
}
