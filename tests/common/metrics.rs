//! The `/metrics` text of a running server and the sum of its samples.

use super::server::Server;

impl Server {
    /// The `/metrics` text.
    pub fn metrics(&self) -> String {
        let resp = self.get(&format!("{}/metrics", self.base));
        assert_eq!(resp.status(), 200, "/metrics answers 200");
        resp.text().expect("metrics text")
    }
}

/// The value of the first sample whose series (name and labels) matches exactly, or the sum
/// of every sample of `name` whose labels include each of `labels` when `labels` is given.
pub fn metric_sum(text: &str, name: &str, labels: &[(&str, &str)]) -> f64 {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| {
            let (series, value) = l.rsplit_once(' ')?;
            let (metric, label_text) = match series.split_once('{') {
                Some((m, rest)) => (m, rest.trim_end_matches('}')),
                None => (series, ""),
            };
            if metric != name {
                return None;
            }
            let all = labels.iter().all(|(k, v)| {
                label_text
                    .split(',')
                    .any(|pair| pair.trim() == format!("{k}=\"{v}\""))
            });
            all.then(|| value.parse::<f64>().ok()).flatten()
        })
        .sum()
}
