//! The rules of the house (issue 17) that the compiler does not check, read from the source
//! tree with `std::fs` (no cargo invocation):
//!
//! * only `src/cli.rs`, `src/main.rs` and `src/commands/` know the command line
//!   (`crate::cli`, `Globals`); every layer takes paths and values instead;
//! * `src/mapping/` does not import the UPS client (`crate::ups`) nor the connectors;
//! * `src/pipeline/` and `src/tracking/` do not import each other in both directions
//!   (the adapters between them live in `src/app/adapters/`).
//!
//! Guards the move of the command entry points out of `mapping/cli.rs`,
//! `pipeline/cli.rs`, `store/cli.rs`, `config/check.rs` and `ops/`: on the old tree every
//! one of these tests fails (e.g. `mapping/cli.rs` imported `crate::ups::build` and
//! `crate::cli::Globals`; `pipeline/adapters.rs` imported `crate::tracking`).

use std::path::{Path, PathBuf};

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
        let p = e.unwrap().path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

/// Code lines of `file` (doc and line comments dropped) that contain `needle`.
fn uses(file: &Path, needle: &str) -> Vec<String> {
    let text = std::fs::read_to_string(file).unwrap();
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim_start().starts_with("//"))
        .filter(|(_, l)| l.contains(needle))
        .map(|(i, l)| format!("{}:{}: {}", file.display(), i + 1, l.trim()))
        .collect()
}

/// Every `.rs` file under `src/<under>` (all of `src/` when empty) except those `allowed`
/// (paths relative to `src/`, a trailing `/` for a folder) that mention `needle` in code.
fn offenders(under: &str, needle: &str, allowed: &[&str]) -> Vec<String> {
    let root = src();
    let mut files = Vec::new();
    rust_files(&root.join(under), &mut files);
    files
        .iter()
        .filter(|f| {
            let rel = f
                .strip_prefix(&root)
                .unwrap()
                .to_string_lossy()
                .replace('\\', "/");
            !allowed.iter().any(|a| {
                if a.ends_with('/') {
                    rel.starts_with(a)
                } else {
                    rel == *a
                }
            })
        })
        .flat_map(|f| uses(f, needle))
        .collect()
}

#[test]
fn only_the_commands_know_the_command_line() {
    let allowed = ["cli.rs", "main.rs", "commands/"];
    let mut bad = offenders("", "crate::cli", &allowed);
    bad.extend(offenders("", "Globals", &allowed));
    assert!(
        bad.is_empty(),
        "layers must take paths and values, not the command line; move these to src/commands/:\n{}",
        bad.join("\n")
    );
}

#[test]
fn mapping_knows_neither_ups_nor_the_connectors() {
    let mut bad = offenders("mapping", "crate::ups", &[]);
    bad.extend(offenders("mapping", "crate::sources", &[]));
    assert!(
        bad.is_empty(),
        "mapping/ must not import the UPS client or the ERP connectors (pass a builder in, as app/adapters/mapping.rs does):\n{}",
        bad.join("\n")
    );
}

#[test]
fn pipeline_and_tracking_do_not_import_each_other() {
    let p2t = offenders("pipeline", "crate::tracking", &[]);
    let t2p = offenders("tracking", "crate::pipeline", &[]);
    assert!(
        p2t.is_empty() || t2p.is_empty(),
        "pipeline/ and tracking/ import each other; move what they share to model/ or app/adapters/:\n{}\n{}",
        p2t.join("\n"),
        t2p.join("\n")
    );
    assert!(
        p2t.is_empty(),
        "pipeline/ must not import tracking/ (tracking runs after the pipeline; adapters live in app/):\n{}",
        p2t.join("\n")
    );
}
