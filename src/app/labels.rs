//! Label sinks live in [`crate::sinks`] (one folder per sink); `upsync labels reprint JOB`
//! is `crate::commands::labels`. This module keeps the old paths.

pub use crate::sinks::{label_file_name, DirectorySink, PrinterSink};
