//! The workspace's shape, checked offline and cheaply (no `cargo` subprocess).
//!
//! Guards issue 17: the simulators (`sim/`, crate `upsync-sim`) depend on nothing of
//! upsync, so "a simulator shares no code with the client it tests" is enforced by the
//! compiler; and a plain `cargo test` at the root also runs the simulators' own tests.

use std::path::Path;

fn manifest(rel: &str) -> toml_lite::Doc {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(rel);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    toml_lite::Doc::parse(&text)
}

/// Fails before the split (there was no sim/Cargo.toml) and fails again if anyone adds
/// `upsync` (or a path into the daemon's sources) to the simulator crate's dependencies.
#[test]
fn sim_crate_depends_on_nothing_of_upsync() {
    let sim = manifest("sim/Cargo.toml");
    assert_eq!(
        sim.get("package", "name").as_deref(),
        Some("\"upsync-sim\"")
    );
    for section in sim.sections() {
        let is_dep = section.ends_with("dependencies") || section.contains("dependencies.");
        if !is_dep {
            continue;
        }
        for (key, value) in sim.entries(&section) {
            let name = key.trim_matches('"');
            assert!(
                !(name == "upsync" || name.starts_with("upsync.")),
                "sim/Cargo.toml [{section}] depends on `{name}`: the simulators must not \
                 import the daemon; move shared code into the simulator instead"
            );
            assert!(
                !value.contains("path = \"..\"") && !value.contains("package = \"upsync\""),
                "sim/Cargo.toml [{section}] `{name} = {value}` points at the upsync package"
            );
        }
        assert!(
            !section.ends_with(".upsync"),
            "sim/Cargo.toml has a [{section}] table: the simulators must not import the daemon"
        );
    }
}

/// Fails if the workspace stops building the simulators with a plain `cargo test` at the
/// root (the README's and CI's only test command).
#[test]
fn root_cargo_test_covers_the_sim_crate() {
    let root = manifest("Cargo.toml");
    let members = root.get("workspace", "default-members").unwrap_or_default();
    assert!(members.contains("\"sim\""), "default-members = {members}");
    assert!(members.contains("\".\""), "default-members = {members}");
}

/// Just enough TOML reading for the checks above (sections, `key = value` lines, values
/// spanning lines inside brackets); the repository has no TOML parser and needs none.
mod toml_lite {
    pub struct Doc {
        entries: Vec<(String, String, String)>,
    }

    impl Doc {
        pub fn parse(text: &str) -> Doc {
            let mut entries = Vec::new();
            let mut section = String::new();
            let mut pending: Option<(String, String)> = None;
            for raw in text.lines() {
                let line = raw.split(" #").next().unwrap_or("").trim();
                if line.starts_with('#') || line.is_empty() {
                    continue;
                }
                if let Some((key, mut value)) = pending.take() {
                    value.push(' ');
                    value.push_str(line);
                    if balanced(&value) {
                        entries.push((section.clone(), key, value));
                    } else {
                        pending = Some((key, value));
                    }
                    continue;
                }
                if line.starts_with('[') && line.ends_with(']') {
                    section = line.trim_matches(['[', ']']).trim().to_string();
                    entries.push((section.clone(), String::new(), String::new()));
                    continue;
                }
                if let Some((k, v)) = line.split_once('=') {
                    let (key, value) = (k.trim().to_string(), v.trim().to_string());
                    if balanced(&value) {
                        entries.push((section.clone(), key, value));
                    } else {
                        pending = Some((key, value));
                    }
                }
            }
            Doc { entries }
        }

        pub fn sections(&self) -> Vec<String> {
            let mut out: Vec<String> = Vec::new();
            for (s, _, _) in &self.entries {
                if !out.contains(s) {
                    out.push(s.clone());
                }
            }
            out
        }

        pub fn entries(&self, section: &str) -> Vec<(String, String)> {
            self.entries
                .iter()
                .filter(|(s, k, _)| s == section && !k.is_empty())
                .map(|(_, k, v)| (k.clone(), v.clone()))
                .collect()
        }

        pub fn get(&self, section: &str, key: &str) -> Option<String> {
            self.entries(section)
                .into_iter()
                .find(|(k, _)| k == key)
                .map(|(_, v)| v)
        }
    }

    fn balanced(v: &str) -> bool {
        let open = v.matches(['[', '{']).count();
        let close = v.matches([']', '}']).count();
        open <= close
    }
}
