//! "Did you mean ...?" for near-miss names.

/// The candidate closest to `name`, if it is close enough to be a likely typo.
pub fn did_you_mean<'a>(name: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<String> {
    let lower = name.to_ascii_lowercase();
    let mut best: Option<(f64, &str)> = None;
    for c in candidates {
        if c == name {
            continue;
        }
        let score =
            if c.to_ascii_lowercase() == lower { 1.0 } else { strsim::jaro_winkler(&lower, &c.to_ascii_lowercase()) };
        if score >= 0.8 && best.is_none_or(|(s, _)| score > s) {
            best = Some((score, c));
        }
    }
    best.map(|(_, c)| format!("did you mean `{c}`?"))
}

/// The hint for an unknown name: "did you mean `x`?" when one of `known` is close, otherwise the
/// list of what there is: "`kinds` are `a`, `b` and `c`". The one helper behind every
/// unknown-name diagnostic whose alternatives are a plain list.
pub fn suggest_or_list<'a>(name: &str, known: impl IntoIterator<Item = &'a str> + Clone, kinds: &str) -> String {
    did_you_mean(name, known.clone()).unwrap_or_else(|| {
        let all: Vec<String> = known.into_iter().map(|k| format!("`{k}`")).collect();
        match all.split_last() {
            None => format!("there are no {kinds}"),
            Some((last, [])) => format!("{kinds}: {last}"),
            Some((last, rest)) => format!("{kinds} are {} and {last}", rest.join(", ")),
        }
    })
}

#[cfg(test)]
mod tests {
    use super::{did_you_mean, suggest_or_list};

    #[test]
    fn suggests_a_close_name_or_lists_them_all() {
        assert_eq!(suggest_or_list("englsh", ["english", "first_price"], "rules"), "did you mean `english`?");
        assert_eq!(
            suggest_or_list("zzz", ["english", "first_price", "second_price"], "rules"),
            "rules are `english`, `first_price` and `second_price`"
        );
        assert_eq!(suggest_or_list("zzz", ["http"], "targets"), "targets: `http`");
    }

    #[test]
    fn suggests_close_names_only() {
        let fields = ["Avg_Area_Income", "Avg_Area_House_Age", "Area_Population"];
        assert_eq!(did_you_mean("Avg_Area_Incom", fields), Some("did you mean `Avg_Area_Income`?".into()));
        assert_eq!(did_you_mean("avg_area_income", fields), Some("did you mean `Avg_Area_Income`?".into()));
        assert_eq!(did_you_mean("zzz", fields), None);
    }
}
