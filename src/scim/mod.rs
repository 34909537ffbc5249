//! The SCIM core: schema-driven rules of RFC 7643/7644 shared by the reference server and,
//! as an oracle, by the conformance runner. Nothing here does I/O.

pub mod error;
pub mod filter;
pub mod patch;
pub mod query;
pub mod resource;
pub mod schema;
pub mod value;
