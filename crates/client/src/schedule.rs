//! Scheduled meetings: kept in the encrypted store, listed on Home until
//! they end, joined from the list, and put into the user's calendar as an
//! .ics file (with the calendar consent).

use std::path::PathBuf;

use serde::{Deserialize, Serialize};
use talkline_meeting::MeetingLink;
use talkline_privacy::FeatureConsent;
use talkline_store::ScheduleRecord;

use crate::core::{AppCore, now_unix};
use crate::error::AppError;
use crate::ics::{self, CalendarEvent};

const MAX_TITLE_CHARS: usize = 120;
const MAX_DURATION_MINUTES: u32 = 24 * 60;
/// A start this far back still counts as "now" (the form took a moment).
const PAST_GRACE_SECS: i64 = 5 * 60;
/// Further ahead than this is a typo in the year.
const MAX_AHEAD_SECS: i64 = 5 * 366 * 86_400;

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ScheduleRequest {
    pub title: String,
    /// Unix seconds (UTC); the window converts the user's local time.
    pub starts_at: i64,
    pub duration_minutes: u32,
    /// A meeting ID or link, as typed on Home.
    pub input: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ScheduledMeeting {
    pub id: i64,
    pub title: String,
    /// The full meeting link, what `join` takes.
    pub input: String,
    pub room: u64,
    pub server: String,
    pub has_pin: bool,
    pub starts_at: i64,
    pub ends_at: i64,
}

fn view(record: ScheduleRecord) -> Option<ScheduledMeeting> {
    // Only this module writes schedules, always as a full link; a row that
    // does not parse is skipped rather than shown half.
    let link = MeetingLink::parse(&record.link).ok()?;
    let server = link.server.as_ref()?.to_string();
    Some(ScheduledMeeting {
        id: record.id,
        title: record.title,
        input: record.link,
        room: link.room,
        server,
        has_pin: link.pin.is_some(),
        starts_at: record.starts_at,
        ends_at: record.ends_at,
    })
}

/// How a calendar file's name starts.
const CALENDAR_PREFIX: &str = "talkline-meeting-";

/// The file name an entry is saved as: its start (UTC) and id, so two
/// meetings never share one.
fn calendar_file_name(meeting: &ScheduledMeeting) -> String {
    let stamp = ics::utc_time(meeting.starts_at);
    format!(
        "{CALENDAR_PREFIX}{}-{}.ics",
        stamp.trim_end_matches('Z'),
        meeting.id
    )
}

/// Whether `name` is one `calendar_file_name` makes.
pub(crate) fn is_calendar_file_name(name: &str) -> bool {
    name.starts_with(CALENDAR_PREFIX) && name.ends_with(".ics")
}

impl AppCore {
    pub fn schedule_meeting(
        &self,
        request: &ScheduleRequest,
    ) -> Result<ScheduledMeeting, AppError> {
        self.require_policy()?;
        let title = request.title.trim();
        if title.is_empty() || title.chars().count() > MAX_TITLE_CHARS {
            return Err(AppError::Invalid(crate::Said::new(
                format!("give the meeting a title of 1 to {MAX_TITLE_CHARS} characters"),
                format!("请为会议输入 1 到 {MAX_TITLE_CHARS} 个字符的标题"),
            )));
        }
        if !(1..=MAX_DURATION_MINUTES).contains(&request.duration_minutes) {
            return Err(AppError::Invalid(crate::Said::new(
                format!("the duration must be 1 to {MAX_DURATION_MINUTES} minutes"),
                format!("时长必须是 1 到 {MAX_DURATION_MINUTES} 分钟"),
            )));
        }
        let now = now_unix();
        if request.starts_at < now - PAST_GRACE_SECS {
            return Err(AppError::Invalid(crate::Said::new(
                "the start time has passed",
                "开始时间已经过去",
            )));
        }
        if request.starts_at > now + MAX_AHEAD_SECS {
            return Err(AppError::Invalid(
                "the start time is more than five years ahead".into(),
            ));
        }
        let mut link =
            MeetingLink::parse(&request.input).map_err(|e| AppError::Link(crate::Said::of(&e)))?;
        // Kept as a full link: a later change of the default server must not
        // move a scheduled meeting, and the calendar entry needs the server.
        link.server = Some(link.server_or(&self.config.default_server).clone());
        let text = link.to_string();
        let ends_at = request.starts_at + i64::from(request.duration_minutes) * 60;
        let id =
            self.with_store(|s| Ok(s.add_schedule(title, &text, request.starts_at, ends_at)?))?;
        view(ScheduleRecord {
            id,
            title: title.to_string(),
            link: text,
            starts_at: request.starts_at,
            ends_at,
        })
        .ok_or_else(|| {
            AppError::Store(crate::Said::new(
                "the schedule could not be read back",
                "无法读回日程",
            ))
        })
    }

    /// Scheduled meetings that have not ended, soonest first.
    pub fn upcoming_meetings(&self) -> Result<Vec<ScheduledMeeting>, AppError> {
        self.require_policy()?;
        let records = self.with_store(|s| Ok(s.schedules_from(now_unix())?))?;
        Ok(records.into_iter().filter_map(view).collect())
    }

    pub fn delete_schedule(&self, id: i64) -> Result<(), AppError> {
        self.require_policy()?;
        if self.with_store(|s| Ok(s.delete_schedule(id)?))? {
            Ok(())
        } else {
            Err(AppError::State(
                "that meeting is no longer scheduled".into(),
            ))
        }
    }

    /// Writes the meeting as an .ics file into the user's Downloads (the
    /// desktop's way into a calendar), with the calendar consent. Returns
    /// the file's path.
    pub fn add_to_calendar(&self, id: i64) -> Result<String, AppError> {
        self.require_policy()?;
        self.require_feature(FeatureConsent::Calendar)?;
        let meeting = self
            .with_store(|s| Ok(s.schedule(id)?))?
            .and_then(view)
            .ok_or_else(|| {
                AppError::State(crate::Said::new(
                    "that meeting is no longer scheduled",
                    "该会议已不在日程中",
                ))
            })?;
        let uid = format!("talkline-schedule-{}-{}", meeting.id, meeting.starts_at);
        let file = ics::calendar_file(&CalendarEvent {
            uid: &uid,
            title: &meeting.title,
            link: &meeting.input,
            starts_at: meeting.starts_at,
            ends_at: meeting.ends_at,
            stamp: now_unix(),
        });
        let dir = &self.config.export_dir;
        std::fs::create_dir_all(dir).map_err(|e| {
            AppError::Store(crate::Said::new(
                format!("cannot create the folder {}: {e}", dir.display()),
                format!("无法创建文件夹 {}：{e}", dir.display()),
            ))
        })?;
        let path: PathBuf = dir.join(calendar_file_name(&meeting));
        crate::personal::write_whole(&path, file.as_bytes()).map_err(|e| {
            AppError::Store(crate::Said::new(
                format!("cannot write {}: {e}", path.display()),
                format!("无法写入 {}：{e}", path.display()),
            ))
        })?;
        Ok(path.display().to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_that_are_not_full_links_are_not_shown() {
        let record = |link: &str| ScheduleRecord {
            id: 3,
            title: "T".into(),
            link: link.into(),
            starts_at: 1_796_142_845,
            ends_at: 1_796_146_445,
        };
        assert!(view(record("1234")).is_none());
        assert!(view(record("not a link")).is_none());
        let shown = view(record("talkline://join?server=ws://h:1&room=9&pin=p")).expect("a link");
        assert_eq!(
            (shown.room, shown.server.as_str(), shown.has_pin),
            (9, "ws://h:1", true)
        );
        assert_eq!(
            calendar_file_name(&shown),
            "talkline-meeting-20261201T163405-3.ics"
        );
    }
}
