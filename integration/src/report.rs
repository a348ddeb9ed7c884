//! The machine-readable result every `decnet-bench` subcommand prints with `--json`.

use serde::Serialize;

/// One measured figure, optionally side by side with the same figure of a peer.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Metric {
    /// Exact metric name, as named by the issue that asks for it.
    pub name: String,
    /// Our measured value.
    pub value: f64,
    /// Unit of `value` and `peer_value` (e.g. `msgs/s`, `us`).
    pub unit: String,
    /// The peer measured in the same run, if any.
    pub peer: Option<String>,
    /// The peer's value for the same metric.
    pub peer_value: Option<f64>,
    /// Ours/peer, oriented so that higher is better.
    pub ratio: Option<f64>,
    /// The goal in words, e.g. `ratio >= 1.0`.
    pub goal: String,
    /// Whether the goal was met in this run.
    pub met: bool,
}

/// Which direction of a figure is better.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Better {
    /// Throughput-like figures.
    Higher,
    /// Latency-like figures.
    Lower,
}

impl Metric {
    /// A figure compared with a peer; the goal is `ratio >= min_ratio`.
    pub fn versus_peer(
        name: &str,
        unit: &str,
        value: f64,
        peer: &str,
        peer_value: f64,
        better: Better,
        min_ratio: f64,
    ) -> Self {
        let ratio = match better {
            Better::Higher if peer_value > 0.0 => value / peer_value,
            Better::Lower if value > 0.0 => peer_value / value,
            _ => 0.0,
        };
        Metric {
            name: name.to_owned(),
            value,
            unit: unit.to_owned(),
            peer: Some(peer.to_owned()),
            peer_value: Some(peer_value),
            ratio: Some(ratio),
            goal: format!("ratio >= {min_ratio}"),
            met: ratio >= min_ratio,
        }
    }

    /// A figure with an absolute goal and no peer.
    pub fn absolute(name: &str, unit: &str, value: f64, better: Better, goal_value: f64) -> Self {
        let (op, met) = match better {
            Better::Higher => (">=", value >= goal_value),
            Better::Lower => ("<=", value <= goal_value),
        };
        Metric {
            name: name.to_owned(),
            value,
            unit: unit.to_owned(),
            peer: None,
            peer_value: None,
            ratio: None,
            goal: format!("{op} {goal_value} {unit}"),
            met,
        }
    }

    /// A figure recorded for information only; it has no goal to miss.
    pub fn informational(name: &str, unit: &str, value: f64) -> Self {
        Metric {
            name: name.to_owned(),
            value,
            unit: unit.to_owned(),
            peer: None,
            peer_value: None,
            ratio: None,
            goal: "informational".to_owned(),
            met: true,
        }
    }
}

/// The single JSON object a benchmark prints on stdout.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Report {
    /// Benchmark (subcommand) name.
    pub bench: String,
    /// Every metric measured.
    pub metrics: Vec<Metric>,
}

impl Report {
    /// Prints the report: one JSON object with `--json`, an aligned table otherwise.
    pub fn print(&self, json: bool) -> anyhow::Result<()> {
        if json {
            println!("{}", serde_json::to_string(self)?);
            return Ok(());
        }
        println!("bench {}", self.bench);
        for m in &self.metrics {
            let peer = match (&m.peer, m.peer_value, m.ratio) {
                (Some(p), Some(v), Some(r)) => format!("  {p}={v:.1} ratio={r:.2}"),
                _ => String::new(),
            };
            let status = if m.met { "met" } else { "MISSED" };
            println!(
                "  {:<36} {:>14.1} {:<7}{}  goal {} [{}]",
                m.name, m.value, m.unit, peer, m.goal, status
            );
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ratio_is_oriented_so_higher_is_better() {
        let thr = Metric::versus_peer("t", "msgs/s", 200.0, "nats", 100.0, Better::Higher, 1.0);
        assert_eq!(thr.ratio, Some(2.0));
        assert!(thr.met);
        let lat = Metric::versus_peer("l", "us", 200.0, "nats", 100.0, Better::Lower, 1.0);
        assert_eq!(lat.ratio, Some(0.5));
        assert!(!lat.met);
    }

    #[test]
    fn json_shape_matches_the_contract() {
        let r = Report {
            bench: "bus".into(),
            metrics: vec![Metric::absolute("x", "msgs/s", 1.0, Better::Higher, 2.0)],
        };
        let v: serde_json::Value = serde_json::to_value(&r).unwrap();
        let m = &v["metrics"][0];
        for key in [
            "name",
            "value",
            "unit",
            "peer",
            "peer_value",
            "ratio",
            "goal",
            "met",
        ] {
            assert!(m.get(key).is_some(), "missing {key}");
        }
        assert_eq!(m["met"], false);
        assert!(m["peer"].is_null());
    }
}
