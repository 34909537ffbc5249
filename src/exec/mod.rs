//! Executing suites against a target: HTTP, templates, assertions, the cleanup ledger,
//! discovery and the run loop.

pub mod assert;
pub mod discovery;
pub mod http;
pub mod ledger;
pub mod runner;
pub mod schema_check;
pub mod template;

#[cfg(test)]
mod assert_props;
