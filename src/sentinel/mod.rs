//! Sentinel mode: monitoring masters and failing them over (`config` reads and rewrites sentinel.conf).
pub mod config;
