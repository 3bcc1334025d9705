//! Fault injection for simulators: `--faults SPEC` and `PUT /_sim/faults`.
//!
//! A spec is a comma-separated list of rules `OPERATION:KIND[=PARAM][@PROBABILITY][#COUNT]`:
//!
//! * `OPERATION` is the simulator's operation name (`ship`, `token`, `track`, `login`,
//!   `suiteql`, …) or `*` for every operation.
//! * `KIND` is `429`, any other HTTP status (`500`, `503`), `latency=MS` (added delay),
//!   `reset` (connection dropped before an answer), `drop-after-commit` (the operation takes
//!   effect, the answer is lost), or a simulator-specific word (`token-expired`,
//!   `session-limit`, `quota-exhausted`) that the simulator interprets.
//! * `@P` fires with probability P (0..=1, default 1); `#N` fires at most N times (scripted).
//!
//! Examples: `ship:drop-after-commit@0.2`, `*:429@0.5`, `track:latency=200`, `token:503#3`.

use std::fmt;
use std::sync::Mutex;
use std::time::Duration;

use rand::Rng;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FaultKind {
    /// Answer with this HTTP status (429, 500, 503, …) in the simulator's error shape.
    Status(u16),
    /// Delay the answer.
    Latency(Duration),
    /// Drop the connection before answering; nothing is committed.
    Reset,
    /// Commit the operation, then drop the connection.
    DropAfterCommit,
    /// Simulator-specific misbehaviour (`token-expired`, `session-limit`, …).
    Other(String),
}

/// One injected fault for one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fault {
    pub kind: FaultKind,
}

#[derive(Debug, Clone)]
struct Rule {
    operation: String,
    kind: FaultKind,
    probability: f64,
    remaining: Option<u64>,
    text: String,
}

/// The active fault rules of one simulator.
#[derive(Debug, Default)]
pub struct Faults {
    rules: Mutex<Vec<Rule>>,
}

/// A spec that cannot be parsed; says which rule and why.
#[derive(Debug, thiserror::Error)]
#[error("invalid fault rule '{rule}': {reason} (form: OPERATION:KIND[=PARAM][@PROBABILITY][#COUNT], e.g. ship:429@0.5)")]
pub struct FaultSpecError {
    pub rule: String,
    pub reason: String,
}

impl Faults {
    /// Parse a spec (empty = no faults).
    pub fn parse(spec: &str) -> Result<Faults, FaultSpecError> {
        Ok(Faults {
            rules: Mutex::new(parse_rules(spec)?),
        })
    }

    /// Replace all rules.
    pub fn replace(&self, spec: &str) -> Result<(), FaultSpecError> {
        let rules = parse_rules(spec)?;
        *self.rules.lock().unwrap_or_else(|e| e.into_inner()) = rules;
        Ok(())
    }

    /// The active rules as a spec string.
    pub fn spec(&self) -> String {
        self.rules
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .map(|r| r.text.clone())
            .collect::<Vec<_>>()
            .join(",")
    }

    /// Decide the faults for one request of `operation`. Latency rules add up and come
    /// first; at most one non-latency fault is returned after them.
    pub fn decide(&self, operation: &str) -> Vec<Fault> {
        let mut rules = self.rules.lock().unwrap_or_else(|e| e.into_inner());
        if rules.is_empty() {
            return Vec::new();
        }
        let mut rng = rand::thread_rng();
        let mut latency = Duration::ZERO;
        let mut other: Option<FaultKind> = None;
        for rule in rules.iter_mut() {
            if rule.operation != "*" && rule.operation != operation {
                continue;
            }
            if rule.remaining == Some(0) {
                continue;
            }
            let is_latency = matches!(rule.kind, FaultKind::Latency(_));
            if !is_latency && other.is_some() {
                continue;
            }
            if rule.probability < 1.0 && rng.gen::<f64>() >= rule.probability {
                continue;
            }
            if let Some(n) = rule.remaining.as_mut() {
                *n -= 1;
            }
            match &rule.kind {
                FaultKind::Latency(d) => latency += *d,
                k => other = Some(k.clone()),
            }
        }
        let mut out = Vec::new();
        if latency > Duration::ZERO {
            out.push(Fault {
                kind: FaultKind::Latency(latency),
            });
        }
        if let Some(kind) = other {
            out.push(Fault { kind });
        }
        out
    }
}

impl fmt::Display for Faults {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.spec())
    }
}

fn parse_rules(spec: &str) -> Result<Vec<Rule>, FaultSpecError> {
    spec.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(parse_rule)
        .collect()
}

fn parse_rule(text: &str) -> Result<Rule, FaultSpecError> {
    let err = |reason: &str| FaultSpecError {
        rule: text.to_string(),
        reason: reason.to_string(),
    };
    let (operation, rest) = text
        .split_once(':')
        .ok_or_else(|| err("missing ':' between operation and kind"))?;
    if operation.is_empty() {
        return Err(err("empty operation (use * for all)"));
    }
    let (rest, remaining) = match rest.split_once('#') {
        Some((r, n)) => (
            r,
            Some(
                n.parse::<u64>()
                    .map_err(|_| err("#COUNT must be a whole number"))?,
            ),
        ),
        None => (rest, None),
    };
    let (kind_text, probability) = match rest.split_once('@') {
        Some((k, p)) => {
            let p: f64 = p
                .parse()
                .map_err(|_| err("@PROBABILITY must be a number from 0 to 1"))?;
            if !(0.0..=1.0).contains(&p) {
                return Err(err("@PROBABILITY must be from 0 to 1"));
            }
            (k, p)
        }
        None => (rest, 1.0),
    };
    let kind = match kind_text.split_once('=') {
        Some(("latency", ms)) => {
            let ms = ms.trim_end_matches("ms");
            FaultKind::Latency(Duration::from_millis(
                ms.parse()
                    .map_err(|_| err("latency=MS needs milliseconds"))?,
            ))
        }
        Some((k, _)) => return Err(err(&format!("'{k}' takes no parameter"))),
        None => match kind_text {
            "reset" => FaultKind::Reset,
            "drop-after-commit" => FaultKind::DropAfterCommit,
            "" => return Err(err("empty kind")),
            k if k.chars().all(|c| c.is_ascii_digit()) => {
                let code: u16 = k.parse().map_err(|_| err("bad HTTP status"))?;
                if !(400..=599).contains(&code) {
                    return Err(err("HTTP status must be 400..599"));
                }
                FaultKind::Status(code)
            }
            k if k
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_') =>
            {
                FaultKind::Other(k.to_string())
            }
            _ => return Err(err("unknown kind")),
        },
    };
    Ok(Rule {
        operation: operation.to_string(),
        kind,
        probability,
        remaining,
        text: text.to_string(),
    })
}

/// A response whose body fails after the headers: the client sees the connection break
/// (hyper aborts the message). Used for `reset` and `drop-after-commit`.
pub fn broken_response() -> axum::response::Response {
    use futures::stream;
    let body = axum::body::Body::from_stream(stream::once(async {
        Err::<axum::body::Bytes, std::io::Error>(std::io::Error::new(
            std::io::ErrorKind::ConnectionReset,
            "simulated connection reset",
        ))
    }));
    axum::response::Response::builder()
        .status(200)
        .header("content-type", "application/json")
        .body(body)
        .expect("static response parts are valid")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_rules() {
        let f = Faults::parse("ship:drop-after-commit@0.2, *:429@0.5,track:latency=200ms,token:503#3,login:session-limit").unwrap();
        assert_eq!(
            f.spec(),
            "ship:drop-after-commit@0.2,*:429@0.5,track:latency=200ms,token:503#3,login:session-limit"
        );
    }

    #[test]
    fn rejects_bad_rules_with_reason() {
        for bad in [
            "ship",
            "ship:429@2",
            "ship:latency=abc",
            ":429",
            "ship:99",
            "ship:reset#x",
        ] {
            let e = Faults::parse(bad).unwrap_err();
            assert_eq!(e.rule, bad);
        }
    }

    #[test]
    fn scripted_count_fires_exactly_n_times() {
        let f = Faults::parse("token:503#2").unwrap();
        let fired: usize = (0..10).map(|_| f.decide("token").len()).sum();
        assert_eq!(fired, 2);
        assert!(f.decide("ship").is_empty());
    }

    #[test]
    fn probability_is_roughly_honoured() {
        let f = Faults::parse("*:429@0.5").unwrap();
        let fired = (0..2000).filter(|_| !f.decide("ship").is_empty()).count();
        assert!((800..1200).contains(&fired), "fired {fired} of 2000");
    }

    #[test]
    fn latency_adds_and_other_follows() {
        let f = Faults::parse("*:latency=10,ship:latency=5,ship:500").unwrap();
        let d = f.decide("ship");
        assert_eq!(
            d,
            vec![
                Fault {
                    kind: FaultKind::Latency(Duration::from_millis(15))
                },
                Fault {
                    kind: FaultKind::Status(500)
                }
            ]
        );
    }
}
