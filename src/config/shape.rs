//! The set of known keys at every path of the configuration, derived from the structs
//! themselves (by serialising a complete example), so it cannot drift from [`super::model`].
//!
//! Why: serde's `deny_unknown_fields` stops at the first unknown key of a struct; `check`
//! must name all of them. [`strip_unknown`] walks the merged configuration, reports every
//! key the structs do not know, and returns the tree without them so that the typed pass
//! can report the remaining (type) problems.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde_json::Value;

use super::model::*;

#[derive(Debug, Clone)]
pub(crate) enum Shape {
    /// A struct: these keys and no others.
    Object(BTreeMap<String, Shape>),
    /// A list whose elements all have this shape.
    List(Box<Shape>),
    /// An internally tagged enum (`type:`): the variant's keys depend on the tag.
    Tagged {
        tag: &'static str,
        variants: BTreeMap<String, BTreeMap<String, Shape>>,
    },
    /// Free-form (connector `options`) or a scalar: not walked.
    Any,
}

impl Shape {
    fn from_example(v: &Value) -> Shape {
        match v {
            Value::Object(m) => Shape::Object(
                m.iter()
                    .map(|(k, v)| (k.clone(), Shape::from_example(v)))
                    .collect(),
            ),
            Value::Array(a) => Shape::List(Box::new(
                a.first().map(Shape::from_example).unwrap_or(Shape::Any),
            )),
            _ => Shape::Any,
        }
    }

    fn children_mut(&mut self) -> Option<&mut BTreeMap<String, Shape>> {
        match self {
            Shape::Object(m) => Some(m),
            _ => None,
        }
    }
}

fn object_keys(v: Value) -> BTreeMap<String, Shape> {
    match Shape::from_example(&v) {
        Shape::Object(m) => m,
        _ => BTreeMap::new(),
    }
}

/// The shape of [`Config`].
pub(crate) fn config_shape() -> Shape {
    let connector = ConnectorConfig {
        name: String::new(),
        kind: ConnectorKind::Acumatica,
        profile: PathBuf::new(),
        mapping: PathBuf::new(),
        schedule: String::new(),
        credentials: String::new(),
        concurrency: Some(1),
        options: BTreeMap::new(),
        label_sink: LabelSinkConfig::None,
        // Set, so that its keys serialise and count as known.
        push: Some(crate::push::PushConfig::example()),
    };
    let example = Config {
        state_dir: None,
        ups: UpsConfig {
            environment: UpsEnvironment::Sandbox,
            base_url: None,
            account_number: Some(String::new()),
            credentials: String::new(),
            auth: UpsAuth::ClientCredentials,
            refresh_token_renew_before_hours: 24,
            accounts: vec![UpsAccountConfig::example()],
            label: UpsLabelConfig {
                format: Some(LabelFormatName::Png),
                ..UpsLabelConfig::default()
            },
            api_versions: UpsApiVersions::default(),
            // Optional keys set, so that they serialise and count as known.
            quotas: UpsQuotas {
                all_apis_requests_per_second: Some(1),
                ..UpsQuotas::default()
            },
            token_budget_per_day: 0,
            retry: UpsRetryPolicy::default(),
            timeouts: UpsTimeouts::default(),
            address_cache: Default::default(),
        },
        connectors: vec![connector],
        tracking: TrackingConfig::default(),
        http: HttpConfig::default(),
        pipeline: PipelineConfig::default(),
        console: ConsoleConfig::default(),
        credentials: CredentialsConfig::default(),
        // One webhook, so that the keys of a list entry are known.
        events: EventsConfig {
            webhooks: vec![WebhookConfig::example()],
            ..EventsConfig::default()
        },
        // A bind and a warehouse, so that optional keys and list entries are known.
        checkout: super::checkout::CheckoutConfig {
            bind: Some(String::new()),
            ship_from: vec![super::checkout::CheckoutShipFrom::example()],
            ..Default::default()
        },
        // A site with its own pickups, so that list entries and optional keys are known.
        dispatch: super::dispatch::DispatchConfig::example(),
        // A URL, so that the optional key is known.
        store: super::store::StoreConfig {
            url: Some(String::new()),
            ..Default::default()
        },
    };
    let mut shape =
        Shape::from_example(&serde_json::to_value(&example).expect("config serialises"));

    let sinks = LabelSinkConfig::examples();
    let variants = sinks
        .iter()
        .map(|s| {
            let v = serde_json::to_value(s).expect("label sink serialises");
            let tag = v["type"].as_str().unwrap_or_default().to_string();
            (tag, object_keys(v))
        })
        .collect();

    if let Some(Shape::List(el)) = shape.children_mut().and_then(|m| m.get_mut("connectors")) {
        if let Some(m) = el.children_mut() {
            m.insert("options".into(), Shape::Any);
            m.insert(
                "label_sink".into(),
                Shape::Tagged {
                    tag: "type",
                    variants,
                },
            );
        }
    }
    shape
}

/// An unknown key: where, which, and the known keys at that place.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct UnknownKey {
    /// Path of the unknown key itself, e.g. `connectors[0].maping`.
    pub path: String,
    pub key: String,
    pub known: Vec<String>,
}

/// Remove every key `shape` does not know from `value`, reporting each.
pub(crate) fn strip_unknown(shape: &Shape, value: &mut Value, path: &str) -> Vec<UnknownKey> {
    let mut out = Vec::new();
    walk(shape, value, path, &mut out);
    out
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_string()
    } else {
        format!("{path}.{key}")
    }
}

fn walk_object(
    known: &BTreeMap<String, Shape>,
    map: &mut serde_json::Map<String, Value>,
    path: &str,
    out: &mut Vec<UnknownKey>,
) {
    let keys: Vec<String> = map.keys().cloned().collect();
    for key in keys {
        match known.get(&key) {
            Some(child) => {
                if let Some(v) = map.get_mut(&key) {
                    walk(child, v, &join(path, &key), out);
                }
            }
            None => {
                map.remove(&key);
                out.push(UnknownKey {
                    path: join(path, &key),
                    key,
                    known: known.keys().cloned().collect(),
                });
            }
        }
    }
}

fn walk(shape: &Shape, value: &mut Value, path: &str, out: &mut Vec<UnknownKey>) {
    match (shape, value) {
        (Shape::Object(known), Value::Object(map)) => walk_object(known, map, path, out),
        (Shape::List(el), Value::Array(items)) => {
            for (i, item) in items.iter_mut().enumerate() {
                walk(el, item, &format!("{path}[{i}]"), out);
            }
        }
        (Shape::Tagged { tag, variants }, Value::Object(map)) => {
            let chosen = map.get(*tag).and_then(Value::as_str).map(str::to_string);
            // An unknown or missing tag is the typed pass's to report.
            if let Some(known) = chosen.and_then(|t| variants.get(&t)) {
                walk_object(known, map, path, out);
            }
        }
        // Scalars, free-form maps, and kind mismatches (left to the typed pass).
        _ => {}
    }
}

/// The known key closest to `key` (typo suggestion), if close enough.
pub(crate) fn suggest<'a>(key: &str, known: &'a [String]) -> Option<&'a str> {
    known
        .iter()
        .map(|k| (levenshtein(&key.to_lowercase(), k), k))
        .filter(|(d, k)| *d <= 2.max(k.len() / 4))
        .min_by_key(|(d, _)| *d)
        .map(|(_, k)| k.as_str())
}

fn levenshtein(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != *cb);
            cur[j + 1] = (prev[j] + cost).min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn every_unknown_key_is_reported_and_removed() {
        let mut v = json!({
            "ups": {"account_number": "123X56", "acount": 1, "quotas": {"shiping_requests_per_second": 3}},
            "connectors": [
                {"name": "a", "maping": "x", "options": {"anything": {"goes": 1}},
                 "label_sink": {"type": "printer", "address": "h:9100", "path": "/tmp"}},
                {"name": "b", "label_sink": {"type": "directory", "path": "labels"}}
            ],
            "tracking": {"track_alert": {"versoin": "v2"}},
            "extra": true
        });
        let unknown = strip_unknown(&config_shape(), &mut v, "");
        let paths: Vec<&str> = unknown.iter().map(|u| u.path.as_str()).collect();
        assert_eq!(
            paths,
            [
                "ups.acount",
                "ups.quotas.shiping_requests_per_second",
                "connectors[0].maping",
                "connectors[0].label_sink.path",
                "tracking.track_alert.versoin",
                "extra"
            ]
        );
        assert!(v["ups"].get("acount").is_none());
        assert_eq!(v["connectors"][1]["label_sink"]["path"], "labels");
        assert_eq!(v["connectors"][0]["options"]["anything"]["goes"], 1);
    }

    #[test]
    fn suggestions_catch_typos_only() {
        let known: Vec<String> = ["mapping", "profile", "schedule"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        assert_eq!(suggest("maping", &known), Some("mapping"));
        assert_eq!(suggest("Schedul", &known), Some("schedule"));
        assert_eq!(suggest("colour", &known), None);
    }
}
