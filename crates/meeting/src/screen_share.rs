//! Sharing a screen: a second publisher in the meeting beside the
//! person's own (as Janus's own screen-sharing demo does), under the same
//! name. Its video is described as a screen, so viewers show it large; it
//! sends no audio and receives nothing; the person's own call is told it
//! is theirs, so they never receive their own screen back.

use talkline_media::source::VideoSource;

use tokio::sync::mpsc::UnboundedSender;

use crate::call::{CallCommand, CallConfig, CallHandle, PublishAs, join, random_publisher_id};
use crate::error::MeetingError;
use crate::ice_servers::IceServers;
use crate::link::ServerUrl;
use crate::send::Outgoing;
use talkline_media::voice_processing::VoiceSettings;

/// What a screen share needs: where (the person's meeting), as whom, and
/// the picture.
pub struct ShareConfig {
    pub server: ServerUrl,
    pub room: u64,
    pub pin: Option<String>,
    /// The sharer's name (viewers say "Ann's screen").
    pub display: String,
    pub video: Box<dyn VideoSource>,
    /// Text stays sharp at a rate the picture can drop to (the encoder
    /// keeps the resolution and lowers the frame rate under pressure).
    pub bitrate_kbps: u32,
    pub ice: IceServers,
}

/// Shares a screen in the meeting of the call `person` commands (see
/// `CallHandle::commands`); the share runs until its handle is left (or
/// dropped).
pub async fn share_screen(
    person: &UnboundedSender<CallCommand>,
    config: ShareConfig,
) -> Result<CallHandle, MeetingError> {
    let feed = random_publisher_id();
    // Told first: the room announces the share to the person's call too.
    let _ = person.send(CallCommand::OwnFeed(feed));
    let share = join(CallConfig {
        server: config.server,
        room: config.room,
        pin: config.pin,
        display: config.display,
        video: Outgoing::From(config.video),
        audio: Outgoing::Never,
        audio_out: None,
        video_bitrate_kbps: config.bitrate_kbps,
        simulcast: false,
        tiles: None,
        audio_muted: false,
        video_muted: false,
        subscribe: false,
        ice: config.ice,
        voice: VoiceSettings::default(),
        publish_as: PublishAs::Screen { feed },
    })
    .await?;
    // The server had that id taken (an earlier session of ours not yet
    // timed out): the share joined under another.
    if share.self_id != feed {
        let _ = person.send(CallCommand::OwnFeed(share.self_id));
    }
    Ok(share)
}
