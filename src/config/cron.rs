//! Cron schedules: admins write 5 fields (`minute hour day month weekday`), tokio-cron-scheduler
//! wants 6 (seconds first; an optional 7th is the year). [`normalise`] accepts both, returns the 6-field form, and
//! validates it with the same parser settings tokio-cron-scheduler uses (croner, seconds
//! required, day-of-month AND day-of-week), so a schedule `check` accepts is one the
//! scheduler accepts.

use croner::parser::{CronParser, Seconds};

/// A schedule that passed validation, in both forms.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CronSchedule {
    /// What the admin wrote (trimmed).
    pub written: String,
    /// 6-field form for tokio-cron-scheduler.
    pub six_field: String,
    /// How many fields the admin wrote (5, 6 or 7 with a year; 1 for `@hourly`-style nicknames).
    pub fields_written: usize,
}

/// Why a schedule was refused (the message says what was seen and what is expected).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct CronError(pub String);

/// Accept 5-field or 6-field cron (or `@hourly`, `@daily`, …); return the 6-field form.
pub fn normalise(expr: &str) -> Result<CronSchedule, CronError> {
    let written = expr.split_whitespace().collect::<Vec<_>>().join(" ");
    let fields: Vec<&str> = written.split(' ').filter(|f| !f.is_empty()).collect();
    let count = fields.len();
    let six_field = match fields.len() {
        0 => return Err(CronError("the schedule is empty".into())),
        1 if fields[0].starts_with('@') => written.clone(),
        5 => format!("0 {written}"),
        6 | 7 => written.clone(),
        n => {
            return Err(CronError(format!(
                "`{written}` has {n} field(s); expected 5 (minute hour day-of-month month day-of-week) \
                 or 6 (second first; a 7th field is the year)"
            )))
        }
    };
    parser().parse(&six_field).map_err(|e| {
        let kind = match count {
            5 => "5-field (read as 6-field with seconds 0)",
            7 => "7-field",
            _ => "6-field",
        };
        CronError(format!(
            "`{written}` is not a valid {kind} cron expression: {e}"
        ))
    })?;
    Ok(CronSchedule {
        written,
        six_field,
        fields_written: count,
    })
}

/// The next time a 6-field schedule fires after `after` (UTC, as the scheduler runs it).
pub fn next_run(
    six_field: &str,
    after: chrono::DateTime<chrono::Utc>,
) -> Option<chrono::DateTime<chrono::Utc>> {
    parser()
        .parse(six_field)
        .ok()?
        .find_next_occurrence(&after, false)
        .ok()
}

fn parser() -> CronParser {
    CronParser::builder()
        .seconds(Seconds::Required)
        .dom_and_dow(true)
        .build()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_next_run_follows_the_schedule() {
        use chrono::TimeZone;
        let at = chrono::Utc
            .with_ymd_and_hms(2026, 12, 6, 10, 7, 30)
            .unwrap();
        let next = next_run("0 */5 * * * *", at).unwrap();
        assert_eq!(
            next,
            chrono::Utc
                .with_ymd_and_hms(2026, 12, 6, 10, 10, 0)
                .unwrap()
        );
        assert_eq!(next_run("not cron", at), None);
    }

    #[test]
    fn five_fields_gain_a_zero_seconds_field() {
        let s = normalise("*/5 * * * *").unwrap();
        assert_eq!(s.six_field, "0 */5 * * * *");
        assert_eq!(s.fields_written, 5);
    }

    #[test]
    fn six_fields_are_kept_and_whitespace_collapsed() {
        let s = normalise("  30   */2 * * * MON-FRI ").unwrap();
        assert_eq!(s.six_field, "30 */2 * * * MON-FRI");
        assert_eq!(s.fields_written, 6);
    }

    #[test]
    fn nicknames_pass() {
        assert!(normalise("@hourly").is_ok());
    }

    #[test]
    fn bad_expressions_are_refused_with_what_was_seen() {
        for bad in [
            "",
            "* * *",
            "61 * * * *",
            "*/5 * * * * * * *",
            "every five minutes please",
        ] {
            let e = normalise(bad).unwrap_err();
            assert!(!e.0.is_empty(), "{bad}");
        }
        let e = normalise("61 * * * *").unwrap_err();
        assert!(e.0.contains("61 * * * *") && e.0.contains("5-field"), "{e}");
    }

    /// What `normalise` accepts, tokio-cron-scheduler accepts (and vice versa for 5 fields).
    #[tokio::test]
    async fn the_scheduler_accepts_what_we_accept() {
        for expr in [
            "*/5 * * * *",
            "0 0 6 * * MON-FRI",
            "15 2 * * 1",
            "0 0 6 * * * 2027",
        ] {
            let six = normalise(expr).unwrap().six_field;
            tokio_cron_scheduler::Job::new_async(six.as_str(), |_, _| Box::pin(async {}))
                .unwrap_or_else(|e| panic!("scheduler refused {six}: {e:?}"));
        }
        // The scheduler itself refuses 5 fields: the reason normalise exists.
        assert!(
            tokio_cron_scheduler::Job::new_async("*/5 * * * *", |_, _| Box::pin(async {})).is_err()
        );
    }
}
