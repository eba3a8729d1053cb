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

#[cfg(test)]
mod tests {
    use super::did_you_mean;

    #[test]
    fn suggests_close_names_only() {
        let fields = ["Avg_Area_Income", "Avg_Area_House_Age", "Area_Population"];
        assert_eq!(did_you_mean("Avg_Area_Incom", fields), Some("did you mean `Avg_Area_Income`?".into()));
        assert_eq!(did_you_mean("avg_area_income", fields), Some("did you mean `Avg_Area_Income`?".into()));
        assert_eq!(did_you_mean("zzz", fields), None);
    }
}
