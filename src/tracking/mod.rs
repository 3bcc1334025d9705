//! Tracking: Track Alert subscriptions and renewal, polling, webhook events, milestones.
//!
//! Stub: filled in by its issue.
