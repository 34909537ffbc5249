//! Suite files: the declarative YAML format (`model`), loading and checking (`load`), error
//! rendering (`diagnostics`) and the requirements table suites cite (`requirements`).

pub mod diagnostics;
pub mod load;
pub mod model;
pub mod profile;
pub mod requirements;

#[cfg(test)]
mod props;
