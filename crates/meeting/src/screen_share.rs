//! Sharing a screen: a second publisher in the meeting beside the
//! person's own (as Janus's own screen-sharing demo does), under the same
//! name. Its video is described as a screen, so viewers show it large; it
//! sends the computer's sound only when asked to, and receives nothing;
//! the person's own call is told it is theirs, so they never receive
//! their own screen back.

use talkline_media::devices::DeviceKind;
use talkline_media::source::{AudioSource, VideoSource};
use talkline_media::{MediaError, VideoFrame};

use std::sync::{Arc, Mutex};

use tokio::sync::mpsc::{self, UnboundedSender};
use tokio::sync::oneshot;

use crate::call::{
    CallCommand, CallConfig, CallEvent, CallHandle, PublishAs, join, random_publisher_id,
};
use crate::error::MeetingError;
use crate::ice_servers::IceServers;
use crate::link::ServerUrl;
use crate::send::Outgoing;
use crate::stats::CallStats;
use talkline_media::voice_processing::VoiceSettings;

/// What a screen share needs: where (the person's meeting), as whom, and
/// the picture.
pub struct ShareConfig {
    pub server: ServerUrl,
    pub room: u64,
    pub pin: Option<String>,
    /// The sharer's way into a locked meeting (see `host`).
    pub entry_token: Option<crate::host::Secret>,
    /// The sharer's name (viewers say "Ann's screen").
    pub display: String,
    pub video: Box<dyn VideoSource>,
    /// The computer's sound, when it is shared too
    /// (`talkline_media::computer_sound`).
    pub audio: Option<Box<dyn AudioSource>>,
    /// Text stays sharp at a rate the picture can drop to (the encoder
    /// keeps the resolution and lowers the frame rate under pressure).
    pub bitrate_kbps: u32,
    pub ice: IceServers,
}

/// A screen being shared.
pub struct ScreenShare {
    handle: CallHandle,
    /// Resolves when the share ends by itself (the server gone for good,
    /// a failure), with why; not when it is left.
    pub ended: oneshot::Receiver<Option<MeetingError>>,
}

impl ScreenShare {
    /// What the share sent.
    pub fn stats(&self) -> &Arc<CallStats> {
        &self.handle.stats
    }

    /// Its feed in the room.
    pub fn feed(&self) -> u64 {
        self.handle.self_id
    }

    /// Stops sharing.
    pub async fn leave(self) {
        self.handle.leave().await;
    }
}

/// Shares a screen in the meeting of the call `person` commands (see
/// `CallHandle::commands`); the share runs until it is left (or dropped).
pub async fn share_screen(
    person: &UnboundedSender<CallCommand>,
    config: ShareConfig,
) -> Result<ScreenShare, MeetingError> {
    let feed = random_publisher_id();
    let stopped_because = Arc::new(Mutex::new(None));
    let video = Box::new(TellingWhy {
        inner: config.video,
        why: Arc::clone(&stopped_because),
    });
    // Told first: the room announces the share to the person's call too.
    let _ = person.send(CallCommand::OwnFeed(feed));
    let mut share = join(CallConfig {
        server: config.server,
        room: config.room,
        pin: config.pin,
        entry_token: config.entry_token,
        wait_if_locked: None,
        display: config.display,
        video: Outgoing::From(video),
        audio: match config.audio {
            Some(sound) => Outgoing::From(sound),
            None => Outgoing::Never,
        },
        audio_out: None,
        video_bitrate_kbps: config.bitrate_kbps,
        simulcast: false,
        tiles: None,
        audio_muted: false,
        video_muted: false,
        subscribe: false,
        ice: config.ice,
        // The computer's sound is music and films, not a voice: sent as
        // it is (its source takes the meeting out of it itself).
        voice: VoiceSettings::original_sound(),
        publish_as: PublishAs::Screen { feed },
    })
    .await?;
    // The server had that id taken (an earlier session of ours not yet
    // timed out): the share joined under another.
    if share.self_id != feed {
        let _ = person.send(CallCommand::OwnFeed(share.self_id));
    }
    // Nobody else reads the share's events (who comes and goes is the
    // person's call's to tell): drained here. A new id after a rejoin is
    // told to the person's call (still ours); a capture that stopped (the
    // screen gone, resized past what is shared) or the share's own end is
    // the end of the share.
    let mut events = std::mem::replace(&mut share.events, mpsc::unbounded_channel().1);
    let (end, ended) = oneshot::channel();
    let person = person.clone();
    tokio::spawn(async move {
        while let Some(event) = events.recv().await {
            match event {
                CallEvent::NewId(id) => {
                    let _ = person.send(CallCommand::OwnFeed(id));
                }
                CallEvent::DeviceLost(kind) => {
                    let why = match kind {
                        // The computer's sound (recorded as a microphone is).
                        DeviceKind::Microphone => {
                            MediaError::AudioDevice("the computer's sound stopped".into())
                        }
                        _ => stopped_because
                            .lock()
                            .unwrap_or_else(std::sync::PoisonError::into_inner)
                            .take()
                            .unwrap_or_else(|| MediaError::Screen("the screen stopped".into())),
                    };
                    let _ = end.send(Some(MeetingError::Media(why)));
                    return;
                }
                CallEvent::Ended(why) => {
                    let _ = end.send(why);
                    return;
                }
                _ => {}
            }
        }
    });
    Ok(ScreenShare {
        handle: share,
        ended,
    })
}

/// The shared picture's source, keeping why it stopped (the window closed,
/// the screen made smaller) for the share's end: the call tells only that
/// its video source stopped.
struct TellingWhy {
    inner: Box<dyn VideoSource>,
    why: Arc<Mutex<Option<MediaError>>>,
}

impl VideoSource for TellingWhy {
    fn next_frame(&mut self, frame: &mut VideoFrame) -> talkline_media::Result<()> {
        self.inner.next_frame(frame).map_err(|e| {
            // Taken once, when the source stops: never on a frame's way.
            let told = MediaError::Screen(e.to_string());
            *self
                .why
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(e);
            told
        })
    }

    fn frame_rate(&self) -> f64 {
        self.inner.frame_rate()
    }

    fn is_live(&self) -> bool {
        self.inner.is_live()
    }

    fn size(&self) -> (u32, u32) {
        self.inner.size()
    }

    fn as_encoded(&mut self) -> Option<&mut dyn talkline_media::source::EncodedVideo> {
        self.inner.as_encoded()
    }

    fn unchanged(&self) -> bool {
        self.inner.unchanged()
    }
}
