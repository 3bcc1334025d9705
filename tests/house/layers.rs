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

/// Files under `src/` (outside the simulators, which must not share the client's types)
/// whose code contains `needle`.
fn definitions(needle: &str) -> Vec<String> {
    offenders("", needle, &["sim/"])
}

/// One `Clock`, one `TrackOutcome`, one classified failure type, all in `model/`: on the
/// old tree `pipeline::engine::Clock`, `ups::auth::Clock`, `ups::parse::TrackOutcome`,
/// `tracking::ports::TrackOutcome` and `pipeline::ports::CarrierError` were separate
/// definitions (and the lines below did not compile: the types differed).
#[test]
fn one_clock_one_track_outcome_one_failure_type() {
    for (needle, home) in [
        ("enum TrackOutcome", "model/track.rs"),
        ("struct Clock", "model/clock.rs"),
        ("type Clock", ""),
        ("struct CarrierError", ""),
        ("struct ClassifiedError", "model/failure.rs"),
    ] {
        let found = definitions(needle);
        let expected: Vec<&str> = if home.is_empty() { vec![] } else { vec![home] };
        let homes: Vec<String> = found
            .iter()
            .map(|l| {
                l.split(':')
                    .next()
                    .unwrap()
                    .replace('\\', "/")
                    .split("/src/")
                    .last()
                    .unwrap()
                    .to_string()
            })
            .collect();
        assert_eq!(
            homes, expected,
            "`{needle}` must be defined once, in model/: {found:?}"
        );
    }
    fn same<T>(x: T) -> T {
        x
    }
    let t: upsync::tracking::TrackOutcome =
        same::<upsync::ups::TrackOutcome>(upsync::model::TrackOutcome::NotYet);
    assert_eq!(t, upsync::model::TrackOutcome::NotYet);
    let c: upsync::pipeline::engine::Clock =
        same::<upsync::ups::Clock>(upsync::model::Clock::system());
    assert!(c.now() > chrono::DateTime::<chrono::Utc>::UNIX_EPOCH);
    let e: upsync::model::ClassifiedError =
        same::<upsync::tracking::CarrierError>(upsync::pipeline::CarrierError::transient("x", "y"));
    assert_eq!(e.code, "x");
}

/// Issue 17: no source file over 1,000 lines unless its module doc says why (the words
/// "over 1,000 lines" in its first comment block).
#[test]
fn no_god_files() {
    let mut files = Vec::new();
    rust_files(&src(), &mut files);
    let root = src().parent().unwrap().to_path_buf();
    rust_files(&root.join("sim/src"), &mut files);
    let long: Vec<String> = files
        .iter()
        .filter_map(|f| {
            let text = std::fs::read_to_string(f).ok()?;
            let n = text.lines().count();
            let doc: String = text
                .lines()
                .take_while(|l| l.starts_with("//"))
                .collect::<Vec<_>>()
                .join(" ");
            (n > 1000 && !doc.contains("over 1,000 lines"))
                .then(|| format!("{} ({n} lines)", f.display()))
        })
        .collect();
    assert!(
        long.is_empty(),
        "split these by concept (or say in the module doc why it stays over 1,000 lines):\n{}",
        long.join("\n")
    );
}
