//! `upsync check [--online] [--no-credentials]`: validate the configuration and everything
//! it names ([`crate::config::check`]), report every problem at once, exit 78 on any.

use std::path::Path;
use std::process::ExitCode;

use crate::cli::Globals;
use crate::config::CheckReport;

/// `upsync check [--online] [--no-credentials]` (`--online`: also [`online_pass`]).
pub async fn run(g: &Globals, online: bool, no_credentials: bool) -> anyhow::Result<ExitCode> {
    let path = g.config.clone();
    let mut report = tokio::task::spawn_blocking(move || {
        crate::config::check::check_config_with(&path, no_credentials)
    })
    .await?;
    if online {
        online_pass(&g.config, &mut report).await;
    }
    print!("{report}");
    Ok(if report.is_ok() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(78)
    })
}

/// `check --online` (issue 15 item 14): sign in to every connector with its stored
/// credentials and count the records in the profile's ready state, overall and passing its
/// ship via / ship method filter (a note each); a warning when none pass, a problem when the
/// ERP cannot be reached. The work is `crate::app::ping::ready_counts_by_connector`.
async fn online_pass(path: &Path, report: &mut CheckReport) {
    if !report.is_ok() {
        report.warning(
            path,
            "",
            "the online pass was skipped because the configuration has errors",
            "fix the errors above and run `upsync check --online` again",
        );
        return;
    }
    let rows = match crate::app::ping::ready_counts_by_connector(path).await {
        Ok(rows) => rows,
        Err(e) => {
            report.warning(
                path,
                "",
                format!("the online pass could not start: {e:#}"),
                "run it where the master key and the state directory are available",
            );
            return;
        }
    };
    for (i, name, counts) in rows {
        let at = format!("connectors[{i}]");
        match counts {
            Ok(Some(c)) => {
                report.notes.push(format!("{name}: {}", c.summary()));
                if let Some(w) = c.warning() {
                    report.warning(path, at, format!("{name}: {w}"), "write the ship via / ship method names in the connector profile exactly as the ERP has them");
                }
            }
            Ok(None) => {}
            Err(e) => report.problem(
                path,
                at,
                format!("{name}: {e}"),
                "see `upsync ping` for every system",
            ),
        }
    }
}
