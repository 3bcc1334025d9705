//! Bounds on every file the configuration names, applied **before** any parser sees it
//! (issue 16 item 3): the configuration file, connector profiles, mappings.
//!
//! * [`read_bounded`]: only regular files (not `/dev/zero`, a FIFO or a directory), at
//!   most a fixed number of bytes, UTF-8.
//! * [`check_yaml`]: parsed once with serde_norway, whose event loader is iterative and
//!   whose deserializer stops at 128 levels of nesting and at 100 alias jumps per event
//!   ("repetition limit exceeded"); then the tree is walked for our own, tighter bounds:
//!   [`MAX_DEPTH`] levels and [`MAX_NODES`] nodes after alias expansion. Only then does the
//!   `config` crate (yaml-rust2, recursive, expands aliases without a bound: 3,000 nested
//!   `- ` overflowed the stack, a 352-byte alias bomb grew to 6 GB) parse the text.
//! * Errors say the kind of problem and the position (line, column), never the content:
//!   a profile pointed at the master key file must not print the key.
//!
//! Must never: echo a byte of the file in an error, read without a bound.

use std::io::Read;
use std::path::Path;

/// Largest configuration, profile or mapping file read (bytes).
pub const MAX_FILE_BYTES: u64 = 1024 * 1024;
/// Deepest nesting accepted (the real configuration needs about 6).
pub const MAX_DEPTH: usize = 64;
/// Most YAML nodes accepted after alias expansion (the example configuration has ~300).
pub const MAX_NODES: usize = 200_000;

/// Why a file was refused. No variant carries any of the file's content.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GuardError {
    #[error("cannot be read: {0}")]
    Read(String),
    #[error("is {0}, not a regular file")]
    NotAFile(&'static str),
    #[error("is larger than {limit} bytes")]
    TooLarge { limit: u64 },
    #[error("is not UTF-8 text (first invalid byte at offset {offset})")]
    NotText { offset: usize },
    #[error("is not valid YAML: {what}{}", at(*line, *column))]
    Syntax {
        what: String,
        line: Option<usize>,
        column: Option<usize>,
    },
    #[error("nests deeper than {MAX_DEPTH} levels{}", at(*line, None))]
    TooDeep { line: Option<usize> },
    #[error("expands to more than {MAX_NODES} values (YAML aliases repeated too often)")]
    TooManyNodes,
    #[error("is {found} at the top, not a mapping of keys")]
    NotAMapping { found: &'static str },
}

fn at(line: Option<usize>, column: Option<usize>) -> String {
    match (line, column) {
        (Some(l), Some(c)) => format!(" at line {l} column {c}"),
        (Some(l), None) => format!(" at line {l}"),
        _ => String::new(),
    }
}

impl GuardError {
    /// Line of the problem, when known.
    pub fn line(&self) -> Option<usize> {
        match self {
            GuardError::Syntax { line, .. } | GuardError::TooDeep { line } => *line,
            _ => None,
        }
    }
}

/// Read `path` with the bounds above.
pub fn read_bounded(path: &Path, limit: u64) -> Result<String, GuardError> {
    let meta = std::fs::metadata(path).map_err(|e| GuardError::Read(e.kind().to_string()))?;
    let ft = meta.file_type();
    if !ft.is_file() {
        use std::os::unix::fs::FileTypeExt;
        return Err(GuardError::NotAFile(if ft.is_dir() {
            "a directory"
        } else if ft.is_char_device() || ft.is_block_device() {
            "a device"
        } else if ft.is_fifo() {
            "a pipe"
        } else if ft.is_socket() {
            "a socket"
        } else {
            "not a regular file"
        }));
    }
    let f = std::fs::File::open(path).map_err(|e| GuardError::Read(e.kind().to_string()))?;
    let mut bytes = Vec::new();
    f.take(limit + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| GuardError::Read(e.kind().to_string()))?;
    if bytes.len() as u64 > limit {
        return Err(GuardError::TooLarge { limit });
    }
    String::from_utf8(bytes).map_err(|e| GuardError::NotText {
        offset: e.utf8_error().valid_up_to(),
    })
}

/// Parse `text` as YAML within the bounds above and return the tree.
pub fn check_yaml(text: &str) -> Result<serde_norway::Value, GuardError> {
    let value: serde_norway::Value = serde_norway::from_str(text).map_err(|e| {
        let loc = e.location();
        let message = e.to_string();
        if message.contains("recursion limit exceeded") {
            return GuardError::TooDeep {
                line: loc.map(|l| l.line()),
            };
        }
        if message.contains("repetition limit exceeded") {
            return GuardError::TooManyNodes;
        }
        GuardError::Syntax {
            what: syntax_kind(&message),
            line: loc.as_ref().map(|l| l.line()),
            column: loc.as_ref().map(|l| l.column()),
        }
    })?;
    let mut nodes = 0usize;
    walk(&value, 1, &mut nodes)?;
    Ok(value)
}

/// [`check_yaml`] plus: the top must be a mapping (configuration, profile, mapping). A
/// key file or a system file parses as one long string; this says so without showing it.
pub fn check_yaml_mapping(text: &str) -> Result<serde_norway::Value, GuardError> {
    let v = check_yaml(text)?;
    match &v {
        serde_norway::Value::Mapping(_) => Ok(v),
        serde_norway::Value::Null => Ok(v),
        other => Err(GuardError::NotAMapping { found: kind(other) }),
    }
}

/// [`read_bounded`] then [`check_yaml_mapping`].
pub fn load_yaml_file(path: &Path) -> Result<(String, serde_norway::Value), GuardError> {
    let text = read_bounded(path, MAX_FILE_BYTES)?;
    let v = check_yaml_mapping(&text)?;
    Ok((text, v))
}

fn kind(v: &serde_norway::Value) -> &'static str {
    match v {
        serde_norway::Value::Null => "empty",
        serde_norway::Value::Bool(_) => "a boolean",
        serde_norway::Value::Number(_) => "a number",
        serde_norway::Value::String(_) => "a single text value",
        serde_norway::Value::Sequence(_) => "a list",
        serde_norway::Value::Mapping(_) => "a mapping",
        serde_norway::Value::Tagged(_) => "a tagged value",
    }
}

/// The kind of a libyaml syntax error, without anything quoted from the input.
fn syntax_kind(message: &str) -> String {
    let head = message.split(" at line ").next().unwrap_or(message);
    // Drop anything quoted (libyaml quotes characters it could not use).
    let mut out = String::new();
    let mut quoted = false;
    for ch in head.chars() {
        match ch {
            '\'' | '"' | '`' => {
                quoted = !quoted;
                if quoted {
                    out.push('…');
                }
            }
            _ if quoted => {}
            _ => out.push(ch),
        }
    }
    out.trim().to_string()
}

fn walk(v: &serde_norway::Value, depth: usize, nodes: &mut usize) -> Result<(), GuardError> {
    *nodes += 1;
    if *nodes > MAX_NODES {
        return Err(GuardError::TooManyNodes);
    }
    if depth > MAX_DEPTH {
        return Err(GuardError::TooDeep { line: None });
    }
    match v {
        serde_norway::Value::Sequence(s) => s.iter().try_for_each(|x| walk(x, depth + 1, nodes)),
        serde_norway::Value::Mapping(m) => m.iter().try_for_each(|(k, x)| {
            walk(k, depth + 1, nodes)?;
            walk(x, depth + 1, nodes)
        }),
        serde_norway::Value::Tagged(t) => walk(&t.value, depth + 1, nodes),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Guards issue 16 item 3: 3,000 nested `- ` overflowed the stack (exit 134).
    #[test]
    fn deep_nesting_is_refused_not_a_crash() {
        let text = "- ".repeat(3000) + "x\n";
        assert!(matches!(check_yaml(&text), Err(GuardError::TooDeep { .. })));
        let flow = "[".repeat(3000) + &"]".repeat(3000);
        assert!(matches!(check_yaml(&flow), Err(GuardError::TooDeep { .. })));
        let ok = "- ".repeat(20) + "x\n";
        assert!(check_yaml(&ok).is_ok());
    }

    /// Guards issue 16 item 3: a 352-byte alias bomb grew `check` to 6 GB.
    #[test]
    fn an_alias_bomb_is_refused_without_expanding() {
        let mut text = String::from("a: &a [x,x,x,x,x,x,x,x,x]\n");
        let names = ["a", "b", "c", "d", "e", "f", "g", "h", "i"];
        for w in names.windows(2) {
            let (p, n) = (w[0], w[1]);
            text.push_str(&format!(
                "{n}: &{n} [*{p},*{p},*{p},*{p},*{p},*{p},*{p},*{p},*{p}]\n"
            ));
        }
        assert!(text.len() < 400, "{}", text.len());
        assert_eq!(check_yaml(&text), Err(GuardError::TooManyNodes));
        // A few aliases are fine.
        assert!(check_yaml("a: &x {k: 1}\nb: *x\nc: *x\n").is_ok());
    }

    /// Guards issue 16 item 3: `profile:` at the master key file printed the key.
    #[test]
    fn a_key_file_is_refused_without_its_content() {
        let key = "c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LXNlY3JldC0xMjM0NTY3OA==";
        let e = check_yaml_mapping(&format!("{key}\n")).unwrap_err();
        assert!(!e.to_string().contains("c2Vj"), "{e}");
        assert!(e.to_string().contains("single text value"), "{e}");
        let passwd =
            "root:x:0:0:root:/root:/bin/bash\ndaemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\n";
        let e = check_yaml_mapping(passwd).unwrap_err();
        assert!(!e.to_string().contains("root"), "{e}");
        // A syntax error names the position, not the text.
        let e = check_yaml("a: [secretvalue\n").unwrap_err();
        assert!(!e.to_string().contains("secretvalue"), "{e}");
        assert!(e.line().is_some(), "{e}");
    }

    /// Guards issue 16 item 3: `profile: /dev/zero` read without bound.
    #[test]
    fn devices_and_large_files_are_not_read() {
        assert_eq!(
            read_bounded(Path::new("/dev/zero"), MAX_FILE_BYTES),
            Err(GuardError::NotAFile("a device"))
        );
        let dir = tempfile::tempdir().unwrap();
        let big = dir.path().join("big.yaml");
        std::fs::write(&big, vec![b'#'; 2048]).unwrap();
        assert_eq!(
            read_bounded(&big, 1024),
            Err(GuardError::TooLarge { limit: 1024 })
        );
        assert_eq!(
            read_bounded(dir.path(), 1024),
            Err(GuardError::NotAFile("a directory"))
        );
    }
}
