//! Redis' log line format: `pid:role dd Mon yyyy hh:mm:ss.mmm <mark> message`.

use crate::config::LogLevel;

const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// Formats one log line for a message at `unix_ms` (UTC).
pub fn format_line(pid: u32, role: char, unix_ms: u64, level: LogLevel, msg: &str) -> String {
    let (y, m, d) = civil_from_days((unix_ms / 86_400_000) as i64);
    let ms_of_day = unix_ms % 86_400_000;
    let (h, mi, s, ms) = (
        ms_of_day / 3_600_000,
        ms_of_day / 60_000 % 60,
        ms_of_day / 1000 % 60,
        ms_of_day % 1000,
    );
    let month = MONTHS[(m - 1) as usize];
    format!(
        "{pid}:{role} {d:02} {month} {y} {h:02}:{mi:02}:{s:02}.{ms:03} {} {msg}",
        level.mark()
    )
}

/// The start-up banner Redis prints (raw, without a log prefix) when `always-show-logo yes` or
/// when it logs to a terminal: our own drawing of a stack of disks, with Redis' version, mode,
/// port and PID lines (the test suite waits for ` PID: <pid>` before `Server initialized`).
pub fn logo(mode: &str, port: u16, pid: u32) -> String {
    let version = crate::REDIS_VERSION;
    let info = [
        format!("Redis {version} (00000000/0) 64 bit"),
        String::new(),
        format!("Running in {mode} mode"),
        format!("Port: {port}"),
        format!("PID: {pid}"),
        String::new(),
        "redsim, a sans-IO Redis".to_string(),
    ];
    const ART: [&str; 9] = [
        "        .-~~~~~~~~~~~-.",
        "      (~               ~)",
        "      |`~-.._______..-~'|",
        "      |                 |",
        "      |`~-.._______..-~'|",
        "      |                 |",
        "      |`~-.._______..-~'|",
        "      |                 |",
        "       `~-.._______..-~'",
    ];
    let mut text = String::from("\n");
    for (i, art) in ART.iter().enumerate() {
        let right = i
            .checked_sub(1)
            .and_then(|j| info.get(j))
            .map_or("", |s| s.as_str());
        text.push_str(format!("{art:<32} {right}").trim_end());
        text.push('\n');
    }
    text.push('\n');
    text
}

/// Days since 1970-01-01 to (year, month, day), after Howard Hinnant's civil calendar algorithm.
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_logo_shows_version_mode_port_and_pid_lines_as_redis_does() {
        let logo = logo("standalone", 21111, 4242);
        assert!(logo.contains(" Redis 7.2.6 (00000000/0) 64 bit\n"));
        assert!(logo.contains(" Running in standalone mode\n"));
        assert!(logo.contains(" Port: 21111\n"));
        assert!(logo.contains(" PID: 4242\n"));
    }

    #[test]
    fn formats_like_redis() {
        // 2019-07-29 00:13:25.469 UTC
        let line = format_line(
            2755,
            'M',
            1_564_359_205_469,
            LogLevel::Notice,
            "Ready to accept connections",
        );
        assert_eq!(
            line,
            "2755:M 29 Jul 2019 00:13:25.469 * Ready to accept connections"
        );
        assert!(format_line(1, 'S', 0, LogLevel::Warning, "x")
            .starts_with("1:S 01 Jan 1970 00:00:00.000 # "));
        assert!(
            format_line(1, 'S', 951_782_400_000, LogLevel::Verbose, "x").contains("29 Feb 2000")
        );
    }
}
