//! scimtest: conformance and load harness for SCIM 2.0 service providers, with an embedded
//! reference server.
//!
//! Data flows one way: the SCIM core (`scim`) holds the RFC rules; the reference server
//! (`server`) serves them; the CLI (`cli`) wires commands to both.

pub mod cli;
pub mod scim;
pub mod server;
