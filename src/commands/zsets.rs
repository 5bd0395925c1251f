//! (stub) filled in by its family owner.

use super::CommandSpec;

pub const COMMANDS: &[CommandSpec] = &[];
