//! scimtest: conformance and load harness for SCIM 2.0 service providers, with an embedded
//! reference server.
//!
//! Data flows one way, as in the module list: suite files (`suite`) are parsed and checked,
//! executed against a target (`exec`) into plain results (`results`) that reporters (`report`)
//! render. The SCIM core (`scim`) holds the RFC rules, for the reference server (`server`) and as
//! the runner's oracle. The CLI (`cli`) wires commands to all of it.

pub mod cli;
pub mod commands;
pub mod coverage;
pub mod exec;
pub mod exit;
pub mod load;
pub mod report;
pub mod results;
pub mod scim;
pub mod server;
pub mod suite;
