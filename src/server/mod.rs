//! The HTTP listener (axum): Track Alert webhook, `/metrics`, `/healthz`, `/readyz`.
//!
//! Stub: filled in by its issue.
