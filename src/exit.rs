//! Process exit codes, documented in one place (also printed by `scimtest run --help` and the
//! README).

/// Every selected check passed (failures below `--fail-on` do not count).
pub const OK: u8 = 0;
/// At least one check failed at the `--fail-on` level.
pub const CHECKS_FAILED: u8 = 1;
/// Usage error or a problem in the suite files (nothing was run against the target).
pub const USAGE: u8 = 2;
/// The target could not be reached or answered garbage, a test could not check (error outcome),
/// or another runtime failure.
pub const RUNTIME: u8 = 3;
/// Interrupted by Ctrl-C / SIGINT (after cleanup).
pub const INTERRUPTED: u8 = 130;

/// The table for `--help`.
pub const HELP: &str = "Exit codes:
  0    every check passed at the --fail-on level
  1    check failures at the --fail-on level
  2    usage error or invalid suite files
  3    target unreachable or answering garbage, a test that could not check, or a runtime error
  130  interrupted (cleanup ran; a second Ctrl-C leaves the ledger for `scimtest cleanup`)";

/// The table for `scimtest load --help`.
pub const LOAD_HELP: &str = "Exit codes:
  0    the load ran and every --threshold passed (or none was given)
  1    a --threshold failed
  2    usage error or invalid scenario files (nothing was sent)
  3    target unreachable, a runtime error, or resources left behind after cleanup
  130  interrupted (the load stopped and cleanup ran; a second Ctrl-C leaves
       reports/load-ledger.jsonl for `scimtest cleanup --ledger`)";
