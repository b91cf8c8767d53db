//! The TalkLine app's core: everything a window shows and does, behind an
//! API of plain calls and events, so the desktop and mobile shells stay thin
//! (they only translate commands and forward events) and the whole app can
//! be tested without a window.

mod call;
pub mod close_guard;
pub mod core;
mod damaged_store;
mod device_watch;
pub mod devices;
pub mod effects;
pub mod error;
pub mod events;
mod fallback;
pub mod hosting;
mod ics;
mod language;
pub mod logs;
pub mod meeting_board;
pub mod meeting_chat;
pub mod meeting_files;
pub mod meeting_recording;
mod opened_link;
mod os_settings;
mod personal;
mod preview;
mod quality;
mod scan;
mod schedule;
pub mod screen_share;
mod self_mute;
mod settings;
mod speaker_test;
mod upload;
pub mod video_socket;
mod web_link;
mod window_video;

pub use crate::core::{
    AppCore, AppStatus, CoreConfig, Invitation, JoinRequest, Joined, MeetingTarget, RecentMeeting,
};
pub use devices::{Device, DeviceList};
pub use effects::{BackgroundOption, EffectsChoice};
pub use error::{AppError, Said};
pub use events::{AppEvent, EventSink};
pub use logs::LogFiles;
pub use opened_link::MAX_OPENED_LINK_BYTES;
pub use personal::{PrivacyChoiceView, Withdrawal};
pub use scan::{SCAN_TILE, ScannedMeeting};
pub use schedule::{ScheduleRequest, ScheduledMeeting};
pub use settings::Settings;
pub use talkline_privacy::Language;
pub use video_socket::{VideoSocket, VideoSocketAddress};
