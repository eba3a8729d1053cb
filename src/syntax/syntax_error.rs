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
        | Rule::listings_stmt
        | Rule::bidders_block
        | Rule::rule_stmt
        | Rule::bias_stmt => "a statement",
        Rule::bidder => "a bidder (`persona x N { ... }`)",
        Rule::drift_event => "`drift`",
        Rule::fault_event => "`fault`",
        Rule::fault_spec => "a fault",
        Rule::detection | Rule::kw_detected => "`detected`",
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
/// every operator, "an expression" rather than every character that can start one.
fn simplify(mut expected: Vec<String>) -> Vec<String> {
    const OPERATORS: &[&str] = &["`!=`", "`&&`", "`*`", "`->`", "`/`", "`<=`", "`<`", "`==`", "`>=`", "`>`", "`and`", "`or`", "`||`"];
    const STARTS: &[&str] = &[
        "`!`", "`\"`", "`(`", "`+`", "`-`", "`0..9`", "`A..Z`", "`a..z`", "`_`", "`[`", "`false`", "`true`", "`not`", "`{`",
    ];
    if expected.iter().any(|e| OPERATORS.contains(&e.as_str())) {
        expected.retain(|e| !OPERATORS.contains(&e.as_str()) && e != "`+`" && e != "`-`");
        expected.push("an operator".into());
    }
    if expected.iter().filter(|e| STARTS.contains(&e.as_str())).count() >= 3 {
        expected.retain(|e| !STARTS.contains(&e.as_str()));
        expected.push("an expression".into());
    }
    // Single characters of words (`a..z`) say less than the rule that wanted a word.
    expected.retain(|e| e == "`..`" || !e.contains(".."));
    expected.sort_unstable();
    expected.dedup();
    expected
}

/// The token at `at`, for "found ..." and the caret width.
fn token_at(src: &str, at: usize) -> (usize, String) {
    let rest = &src[at.min(src.len())..];
    let Some(first) = rest.chars().next() else {
        return (0, "end of file".to_string());
    };
    let len = if first.is_ascii_alphanumeric() || first == '_' {
        rest.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '.')).unwrap_or(rest.len())
    } else {
        first.len_utf8()
    };
    let text = &rest[..len];
    let shown = match text {
        "\n" => "end of line".to_string(),
        _ => format!("`{text}`"),
    };
    (len, shown)
}

pub(super) fn from_pest(err: pest::error::Error<Rule>, src: &str, base: usize, file: FileId) -> Diagnostic {
    let mut expected: Vec<String> = Vec::new();
    let mut at = base
        + match err.location {
            InputLocation::Pos(p) => p,
            InputLocation::Span((s, _)) => s,
        };
    if let Some(attempts) = err.parse_attempts() {
        // The furthest position any rule reached, and the tokens and rules that could go there.
        at = at.max(base + attempts.max_position);
        for t in attempts.expected_tokens() {
            let token = t.to_string();
            if !token.trim().is_empty() && token != "#" {
                expected.push(format!("`{token}`"));
            }
        }
    }
    if let ErrorVariant::ParsingError { positives, .. } = &err.variant {
        expected.extend(positives.iter().map(|r| describe(*r).to_string()));
    }
    let (len, found) = token_at(src, at);
    let span = Span::new(file, at, at + len);
    let mut expected = simplify(expected);
    expected.retain(|e| e != "whitespace" && e != "something else");
    let wanted = match expected.as_slice() {
        [] => "something else".to_string(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} or {}", init.join(", "), last),
    };
    let mut d = Diagnostic::new(Code::Syntax, span, format!("syntax error: expected {wanted}, found {found}"))
        .label(format!("expected {wanted}"));
    if found == "`=`" && expected.iter().any(|e| e == "`:`") {
        d = d.hint("properties are written `key: value`");
    } else if expected.iter().any(|e| e == "a declaration") {
        d = d.hint(
            "a file is a list of declarations: use, schema, source, features, model, drift, sink, serve, slo, guardrail, scenario, auction",
        );
    }
    d
}
