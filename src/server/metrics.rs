//! `/metrics` in Prometheus/OpenMetrics text (prometheus-client).
//!
//! Modules do not depend on Prometheus: each contributes a [`Sampler`] that reads its own
//! counters at scrape time and pushes [`Sample`]s; histograms that must be observed on the
//! hot path (Ship latency, end-to-end latency) are prometheus-client `Histogram`s owned by
//! the pipeline's stats and registered here.
//!
//! Families (names stable, documented in README): jobs by connector and state, labels
//! created/failed, Ship and end-to-end latency, UPS and ERP requests by API and status,
//! 429s, token requests and daily budget remaining, dead-letter backlog, tracking
//! freshness, connector up/paused.

use std::collections::BTreeMap;

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Counter,
    Gauge,
}

/// One value of one metric family.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    /// Family name; counters get `_total` appended by the encoder.
    pub name: &'static str,
    pub help: &'static str,
    pub kind: Kind,
    pub labels: Vec<(&'static str, String)>,
    pub value: f64,
}

impl Sample {
    pub fn counter(
        name: &'static str,
        help: &'static str,
        labels: Vec<(&'static str, String)>,
        value: f64,
    ) -> Sample {
        Sample {
            name,
            help,
            kind: Kind::Counter,
            labels,
            value,
        }
    }

    pub fn gauge(
        name: &'static str,
        help: &'static str,
        labels: Vec<(&'static str, String)>,
        value: f64,
    ) -> Sample {
        Sample {
            name,
            help,
            kind: Kind::Gauge,
            labels,
            value,
        }
    }
}

/// Pushes the current values of some module's counters.
pub type Sampler = Box<dyn Fn(&mut Vec<Sample>) + Send + Sync>;

struct SamplerCollector {
    samplers: Vec<Sampler>,
}

impl std::fmt::Debug for SamplerCollector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SamplerCollector({} samplers)", self.samplers.len())
    }
}

impl Collector for SamplerCollector {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let mut samples = Vec::new();
        for s in &self.samplers {
            s(&mut samples);
        }
        // Group by family, keeping first-seen help/kind.
        let mut families: BTreeMap<&'static str, Vec<Sample>> = BTreeMap::new();
        for s in samples {
            families.entry(s.name).or_default().push(s);
        }
        for (name, samples) in families {
            let first = &samples[0];
            let metric_type = match first.kind {
                Kind::Counter => ConstCounter::new(0f64).metric_type(),
                Kind::Gauge => ConstGauge::new(0f64).metric_type(),
            };
            let mut me = encoder.encode_descriptor(name, first.help, None, metric_type)?;
            for s in &samples {
                let labels: Vec<(String, String)> = s
                    .labels
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.clone()))
                    .collect();
                let fe = me.encode_family(&labels)?;
                match s.kind {
                    Kind::Counter => ConstCounter::new(s.value.max(0.0)).encode(fe)?,
                    Kind::Gauge => ConstGauge::new(s.value).encode(fe)?,
                }
            }
        }
        Ok(())
    }
}

/// The registry behind `/metrics`.
pub struct Metrics {
    registry: Registry,
}

impl Metrics {
    pub fn new(samplers: Vec<Sampler>) -> Metrics {
        let mut registry = Registry::default();
        registry.register_collector(Box::new(SamplerCollector { samplers }));
        Metrics { registry }
    }

    /// Add a sampler after construction (its families must not be any other sampler's).
    pub fn add_sampler(&mut self, sampler: Sampler) {
        self.registry.register_collector(Box::new(SamplerCollector {
            samplers: vec![sampler],
        }));
    }

    /// Register an observed histogram (a clone shares its buckets with the observer).
    pub fn register_histogram(&mut self, name: &str, help: &str, h: Histogram) {
        self.registry.register(name, help, h);
    }

    pub fn encode(&self) -> Result<String, std::fmt::Error> {
        let mut out = String::new();
        prometheus_client::encoding::text::encode(&mut out, &self.registry)?;
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn families_with_labels_and_histograms_encode() {
        let h = Histogram::new(prometheus_client::metrics::histogram::exponential_buckets(
            0.005, 2.0, 15,
        ));
        h.observe(0.2);
        let mut m = Metrics::new(vec![Box::new(|out| {
            out.push(Sample::counter(
                "upsync_ups_requests",
                "UPS requests by API and HTTP status",
                vec![("api", "ship".into()), ("status", "200".into())],
                3.0,
            ));
            out.push(Sample::counter(
                "upsync_ups_requests",
                "UPS requests by API and HTTP status",
                vec![("api", "ship".into()), ("status", "429".into())],
                1.0,
            ));
        })]);
        m.register_histogram("upsync_ship_latency_seconds", "Ship call latency", h);
        let text = m.encode().unwrap();
        assert!(
            text.contains("upsync_ups_requests_total{api=\"ship\",status=\"200\"} 3"),
            "{text}"
        );
        assert!(text.contains("upsync_ups_requests_total{api=\"ship\",status=\"429\"} 1"));
        assert!(
            text.contains("upsync_ship_latency_seconds_count 1"),
            "{text}"
        );
        assert_eq!(
            text.matches("# TYPE upsync_ups_requests counter").count(),
            1
        );
    }
}
