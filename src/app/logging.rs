//! Logging setup (tracing). Logs go to stderr so stdout stays for command output.
//!
//! * Format: JSON (one object per line, fields flattened) with `--log-format json`, or
//!   when stderr is connected to the systemd journal (`JOURNAL_STREAM` names stderr's
//!   device:inode, as systemd sets it); human-readable text otherwise, coloured only on a
//!   terminal.
//! * Filter: `UPSYNC_LOG` (tracing `EnvFilter` syntax, e.g. `info,upsync::ups=debug`),
//!   default `info`. An invalid filter falls back to `info` with a warning.
//!
//! Must never: be handed a secret. Callers log ids, codes and hashes (see `docs/conventions.md`).

use std::io::IsTerminal;

use tracing_subscriber::EnvFilter;

/// Log format: text on a terminal, json for journald/log shippers (`--log-format`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

/// Which format to use, given the flag and the environment.
pub fn effective_format(flag: LogFormat) -> LogFormat {
    if flag == LogFormat::Json || stderr_is_journal() {
        LogFormat::Json
    } else {
        LogFormat::Text
    }
}

/// `JOURNAL_STREAM=dev:ino` and stderr is that stream (a child that inherited the variable
/// but writes elsewhere keeps text).
fn stderr_is_journal() -> bool {
    let Some(value) = std::env::var_os("JOURNAL_STREAM") else {
        return false;
    };
    let value = value.to_string_lossy().into_owned();
    #[cfg(target_os = "linux")]
    {
        use std::os::unix::fs::MetadataExt;
        if let Ok(meta) = std::fs::metadata("/proc/self/fd/2") {
            return value == format!("{}:{}", meta.dev(), meta.ino());
        }
    }
    !value.is_empty()
}

/// Lines written to the log since start (`upsync bench --scenario hostile` reports how many
/// a flood of bad requests caused).
static LINES: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// Log lines written so far by this process.
pub fn lines_logged() -> u64 {
    LINES.load(std::sync::atomic::Ordering::Relaxed)
}

/// stderr, counting the lines written.
struct CountingStderr;

impl std::io::Write for CountingStderr {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = std::io::stderr().write(buf)?;
        let lines = buf[..n].iter().filter(|b| **b == b'\n').count() as u64;
        LINES.fetch_add(lines, std::sync::atomic::Ordering::Relaxed);
        Ok(n)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        std::io::stderr().flush()
    }
}

/// Changes the default filter after [`init`] (only when `UPSYNC_LOG` is not set).
type Reloader = Box<dyn Fn(&str) + Send + Sync>;
static RELOAD: std::sync::OnceLock<Reloader> = std::sync::OnceLock::new();

/// Use `spec` instead of `info` as the default filter (commands that print their own
/// progress, like `demo`, want `warn`). `UPSYNC_LOG`, when set, still wins.
pub fn quiet_default(spec: &str) {
    if std::env::var("UPSYNC_LOG").is_ok_and(|s| !s.trim().is_empty()) {
        return;
    }
    if let Some(reload) = RELOAD.get() {
        reload(spec);
    }
}

pub fn init(format: LogFormat) {
    let (filter, bad_filter) = match std::env::var("UPSYNC_LOG") {
        Ok(spec) if !spec.trim().is_empty() => match EnvFilter::try_new(&spec) {
            Ok(f) => (f, None),
            Err(e) => (EnvFilter::new("info"), Some(e.to_string())),
        },
        _ => (EnvFilter::new("info"), None),
    };
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(|| CountingStderr);
    let _ = match effective_format(format) {
        LogFormat::Json => {
            let b = builder.json().flatten_event(true).with_filter_reloading();
            let h = b.reload_handle();
            let _ = RELOAD.set(Box::new(move |spec| {
                let _ = h.reload(EnvFilter::new(spec));
            }));
            b.try_init()
        }
        LogFormat::Text => {
            let b = builder
                .with_ansi(std::io::stderr().is_terminal())
                .with_filter_reloading();
            let h = b.reload_handle();
            let _ = RELOAD.set(Box::new(move |spec| {
                let _ = h.reload(EnvFilter::new(spec));
            }));
            b.try_init()
        }
    };
    if let Some(e) = bad_filter {
        tracing::warn!(error = %e, "UPSYNC_LOG is not a valid filter; using `info`");
    }
}
