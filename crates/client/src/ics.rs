//! One scheduled meeting as an iCalendar file (RFC 5545), the form every
//! desktop calendar imports. Times are written in UTC (`…Z`), so no
//! time-zone definitions are needed; text is escaped (§3.3.11) and long
//! lines folded (§3.1) at character boundaries.

use crate::logs::civil_date;

/// The octets a content line may hold before it is folded (§3.1).
const MAX_LINE_OCTETS: usize = 75;

/// What goes into the calendar entry.
pub struct CalendarEvent<'a> {
    /// Stable for one schedule, so importing it again updates the entry.
    pub uid: &'a str,
    pub title: &'a str,
    pub link: &'a str,
    pub starts_at: i64,
    pub ends_at: i64,
    /// When the file was written (DTSTAMP).
    pub stamp: i64,
}

/// A UTC date-time, `YYYYMMDDTHHMMSSZ` (§3.3.5, form #2).
pub fn utc_time(unix: i64) -> String {
    let (y, m, d) = civil_date(unix.div_euclid(86_400));
    let secs = unix.rem_euclid(86_400);
    format!(
        "{y:04}{m:02}{d:02}T{:02}{:02}{:02}Z",
        secs / 3600,
        secs / 60 % 60,
        secs % 60
    )
}

/// TEXT as §3.3.11 writes it: backslash, semicolon and comma escaped, line
/// breaks as `\n`, other control characters (which TEXT may not hold)
/// dropped.
pub fn escape_text(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => out.push_str("\\\\"),
            ';' => out.push_str("\\;"),
            ',' => out.push_str("\\,"),
            '\r' => {
                if chars.peek() == Some(&'\n') {
                    chars.next();
                }
                out.push_str("\\n");
            }
            '\n' => out.push_str("\\n"),
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out
}

/// Appends one content line, folded to at most 75 octets a line (a fold
/// is CRLF and one space, never inside a UTF-8 character).
fn push_line(out: &mut String, line: &str) {
    let mut used = 0;
    for c in line.chars() {
        let len = c.len_utf8();
        if used + len > MAX_LINE_OCTETS {
            out.push_str("\r\n ");
            // The space that starts a continuation counts as an octet.
            used = 1;
        }
        out.push(c);
        used += len;
    }
    out.push_str("\r\n");
}

/// The whole .ics file for `event`.
pub fn calendar_file(event: &CalendarEvent<'_>) -> String {
    let mut out = String::new();
    let lines = [
        "BEGIN:VCALENDAR".to_string(),
        "VERSION:2.0".to_string(),
        format!(
            "PRODID:-//TalkLine//TalkLine {}//EN",
            env!("CARGO_PKG_VERSION")
        ),
        "CALSCALE:GREGORIAN".to_string(),
        "METHOD:PUBLISH".to_string(),
        "BEGIN:VEVENT".to_string(),
        format!("UID:{}", escape_text(event.uid)),
        format!("DTSTAMP:{}", utc_time(event.stamp)),
        format!("DTSTART:{}", utc_time(event.starts_at)),
        format!("DTEND:{}", utc_time(event.ends_at)),
        format!("SUMMARY:{}", escape_text(event.title)),
        format!(
            "DESCRIPTION:{}",
            escape_text(&format!("Join the TalkLine meeting: {}", event.link))
        ),
        format!("LOCATION:{}", escape_text(event.link)),
        // A URI value, not TEXT: written as it is (the link is canonical,
        // without spaces or line breaks).
        format!("URL:{}", event.link),
        "END:VEVENT".to_string(),
        "END:VCALENDAR".to_string(),
    ];
    for line in &lines {
        push_line(&mut out, line);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The logical lines of a file: folds undone (§3.1), CRLF checked.
    fn unfold(file: &str) -> Vec<String> {
        assert!(file.ends_with("\r\n"), "lines end with CRLF");
        assert!(
            !file.replace("\r\n", "").contains('\n'),
            "a bare line feed in {file:?}"
        );
        file.replace("\r\n ", "")
            .split("\r\n")
            .filter(|l| !l.is_empty())
            .map(str::to_string)
            .collect()
    }

    fn event<'a>(title: &'a str, link: &'a str) -> CalendarEvent<'a> {
        CalendarEvent {
            uid: "talkline-schedule-7-1796142845",
            title,
            link,
            starts_at: 1_796_142_845,
            ends_at: 1_796_142_845 + 45 * 60,
            stamp: 951_782_400,
        }
    }

    #[test]
    fn times_are_utc() {
        assert_eq!(utc_time(0), "19700101T000000Z");
        assert_eq!(utc_time(951_782_400), "20000229T000000Z");
        assert_eq!(utc_time(1_796_142_845), "20261201T163405Z");
        assert_eq!(utc_time(-1), "19691231T235959Z");
    }

    #[test]
    fn text_is_escaped() {
        assert_eq!(
            escape_text("Plan; budget, Q3 \\ draft"),
            "Plan\\; budget\\, Q3 \\\\ draft"
        );
        assert_eq!(
            escape_text("one\ntwo\r\nthree\rfour"),
            "one\\ntwo\\nthree\\nfour"
        );
        assert_eq!(escape_text("bell\u{7}tab\tend"), "belltabend");
        assert_eq!(escape_text("Café ☕"), "Café ☕");
    }

    #[test]
    fn a_meeting_becomes_one_event_with_its_times_title_and_link() {
        let link = "talkline://join?server=ws://127.0.0.1:8188&room=1234&pin=a%20b";
        let file = calendar_file(&event("Budget; Q3, final\nbring numbers", link));
        let lines = unfold(&file);
        assert_eq!(lines.first().map(String::as_str), Some("BEGIN:VCALENDAR"));
        assert_eq!(lines.last().map(String::as_str), Some("END:VCALENDAR"));
        for expected in [
            "VERSION:2.0",
            "BEGIN:VEVENT",
            "UID:talkline-schedule-7-1796142845",
            "DTSTAMP:20000229T000000Z",
            "DTSTART:20261201T163405Z",
            "DTEND:20261201T171905Z",
            "SUMMARY:Budget\\; Q3\\, final\\nbring numbers",
            "URL:talkline://join?server=ws://127.0.0.1:8188&room=1234&pin=a%20b",
            "LOCATION:talkline://join?server=ws://127.0.0.1:8188&room=1234&pin=a%20b",
            "DESCRIPTION:Join the TalkLine meeting: talkline://join?server=ws://127.0.0.1:8188&room=1234&pin=a%20b",
            "END:VEVENT",
        ] {
            assert!(
                lines.iter().any(|l| l == expected),
                "{expected} missing from {lines:#?}"
            );
        }
        assert_eq!(
            lines
                .iter()
                .filter(|l| l.starts_with("BEGIN:VEVENT"))
                .count(),
            1
        );
    }

    #[test]
    fn long_lines_fold_at_75_octets_without_splitting_characters() {
        let title = "Überprüfung der Ergebnisse — 四半期の見直し ".repeat(6);
        let file = calendar_file(&event(&title, "talkline://join?server=ws://h&room=1"));
        for physical in file.split("\r\n") {
            assert!(
                physical.len() <= 75,
                "{} octets: {physical:?}",
                physical.len()
            );
        }
        let summary = unfold(&file)
            .into_iter()
            .find(|l| l.starts_with("SUMMARY:"))
            .expect("summary");
        assert_eq!(summary, format!("SUMMARY:{}", escape_text(&title)));
    }
}
