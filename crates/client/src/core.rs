//! `AppCore`: the app as a set of calls. Every shell command is one method
//! here; state lives here; the shell forwards `AppEvent`s to its window.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;

use serde::{Deserialize, Serialize};
use talkline_media::devices::DeviceKind;
use talkline_media::display::Tiles;
use talkline_meeting::{CallCommand, CallConfig, MeetingLink, MeetingQrCode, Outgoing, ServerUrl};
use talkline_privacy::{Capability, ConsentLedger, Language, PermissionRegistry, PrivacyPolicy};
use talkline_store::{KeyVault, Store};
use tokio::sync::mpsc;

use crate::call::{ActiveCall, InMeeting};
use crate::close_guard::{CloseGuard, CloseRequest};
use crate::devices::{self, DeviceList};
use crate::effects::LiveEffects;
use crate::error::AppError;
use crate::events::{AppEvent, EventSink};
use crate::fallback::{DevicesInUse, Fallback};
use crate::logs::LogFiles;
use crate::preview::Preview;
use crate::scan::ScanWorker;
use crate::video_socket::{VideoSocket, VideoSocketAddress};
use crate::window_video;
pub use crate::window_video::TileCursor;

const VIDEO_KBPS: u32 = 800;
pub(crate) const MAX_NAME_CHARS: usize = 64;

pub struct CoreConfig {
    /// Where the encrypted database, custom backgrounds and anything else
    /// the app keeps live; deleted whole when consent is withdrawn.
    pub data_dir: PathBuf,
    /// The server a bare meeting ID means.
    pub default_server: ServerUrl,
    pub vault: Arc<dyn KeyVault>,
    /// The app's log files (the shell's logger writes through it).
    pub logs: Arc<LogFiles>,
    /// Caches: emptied by "Clear cache", deleted on withdrawal.
    pub cache_dirs: Vec<PathBuf>,
    /// The webview's own storage: deleted on withdrawal.
    pub webview_dirs: Vec<PathBuf>,
    /// Where "Export my data" writes its file (the user's downloads).
    pub export_dir: PathBuf,
    /// Where recordings of meetings go unless Settings names a folder
    /// (the user's Videos).
    pub recordings_dir: PathBuf,
    /// Lets `file:PATH.y4m` name a camera (a recording played as the
    /// camera): for tests. Off in the app, so its window cannot make it
    /// read files of its choosing.
    pub file_cameras: bool,
}

impl CoreConfig {
    /// Everything under `data_dir` (logs in `data_dir/logs`), exports to
    /// `data_dir/../exports`: for tests and the CLI.
    pub fn in_dir(data_dir: PathBuf, default_server: ServerUrl, vault: Arc<dyn KeyVault>) -> Self {
        let export_dir = data_dir
            .parent()
            .map_or_else(|| data_dir.join("exports"), |p| p.join("exports"));
        Self {
            logs: LogFiles::new(data_dir.join("logs")),
            data_dir,
            default_server,
            vault,
            cache_dirs: Vec::new(),
            webview_dirs: Vec::new(),
            recordings_dir: export_dir.with_file_name("recordings"),
            export_dir,
            file_cameras: false,
        }
    }
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PolicyView {
    pub version: u32,
    pub accepted: bool,
    pub title: String,
    pub text: String,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AppStatus {
    pub version: String,
    /// The language in force (`en`, `zh-CN`): the UI's, and the texts here.
    pub language: String,
    /// The system's language, which an empty setting follows.
    pub system_language: String,
    pub policy: PolicyView,
    pub display_name: String,
    pub default_server: String,
    pub in_meeting: bool,
    /// Why the store cannot be opened, if it cannot.
    pub store_error: Option<String>,
    /// The file is damaged or foreign: the user may set it aside and start
    /// over (`set_aside_database`).
    pub store_can_be_set_aside: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MeetingTarget {
    pub room: u64,
    pub server: String,
    pub has_pin: bool,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct JoinRequest {
    pub input: String,
    pub display_name: String,
    pub camera: Option<String>,
    pub microphone: Option<String>,
    pub speaker: Option<String>,
    #[serde(default)]
    pub audio_muted: bool,
    #[serde(default)]
    pub video_muted: bool,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Joined {
    pub room: u64,
    pub self_id: u64,
    /// As joined: muted also when there is no microphone (or camera) yet.
    pub audio_muted: bool,
    pub video_muted: bool,
    /// This device hosts the meeting: the window offers the host's controls.
    pub host: bool,
    /// The meeting we host is locked now (one with a waiting room is, from
    /// the start).
    pub locked: bool,
}

/// A meeting's invitation, for the Invite panel.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Invitation {
    /// The canonical link (`talkline://join?server=…&room=…[&pin=…]`).
    pub link: String,
    /// The same link as a QR code: modules a side, and the modules row by
    /// row as '1' (dark) and '0', without the quiet zone.
    pub qr_width: usize,
    pub qr_rows: String,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RecentMeeting {
    pub room: u64,
    pub server: String,
    pub joined_at: i64,
}

struct NullSink;
impl EventSink for NullSink {
    fn emit(&self, _: AppEvent) {}
}

pub struct AppCore {
    pub(crate) config: CoreConfig,
    pub(crate) registry: PermissionRegistry,
    pub(crate) policy: PrivacyPolicy,
    pub(crate) store: Mutex<Option<Store>>,
    /// Beauty and background: the choice in force, reaching the camera.
    pub(crate) effects: Arc<LiveEffects>,
    /// Set when consent is withdrawn: the store must not be reopened.
    pub(crate) withdrawn: AtomicBool,
    pub(crate) tiles: Arc<Tiles>,
    /// The window's video beside the IPC; listening from the window's first ask.
    video_socket: tokio::sync::OnceCell<VideoSocket>,
    events: Mutex<Arc<dyn EventSink>>,
    pub(crate) preview: Mutex<Option<Preview>>,
    /// Counts `stop_preview` calls: a preview that was opening while the
    /// devices were taken back (a join started) is not kept.
    pub(crate) preview_epoch: AtomicU64,
    /// Counts screen-share stops: a share still starting when Stop or
    /// Cancel was pressed (a desktop's dialog still open) is not kept.
    pub(crate) share_epoch: AtomicU64,
    /// The QR scan worker while the scan screen looks for a code.
    pub(crate) scan: Mutex<Option<ScanWorker>>,
    pub(crate) call: tokio::sync::Mutex<Option<ActiveCall>>,
    /// The devices the call uses, for the fallback when one is lost.
    in_use: Arc<Mutex<DevicesInUse>>,
    /// Serialises joins so a double click cannot join twice.
    joining: tokio::sync::Mutex<()>,
    /// Stops a join still under way (waiting in a waiting room).
    join_cancel: Mutex<Option<tokio::sync::oneshot::Sender<()>>>,
    pub(crate) preview_levels: Mutex<Option<tokio::task::JoinHandle<()>>>,
    /// Whether "Test speaker" is playing its chime now.
    speaker_test: Arc<AtomicBool>,
    exit_hook: Mutex<Option<Box<dyn Fn() + Send + Sync>>>,
    close_guard: CloseGuard,
    /// A meeting link opened from outside, until the window takes it.
    pub(crate) opened_link: crate::opened_link::OpenedLink,
    /// The language the user chose, if they chose one.
    pub(crate) language: Mutex<crate::language::ChosenLanguage>,
}

pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// A device setting: stored as "" when the user left it to the system.
pub(crate) fn now_unix() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

impl AppCore {
    pub fn new(config: CoreConfig) -> Result<Arc<Self>, AppError> {
        let registry = PermissionRegistry::builtin().map_err(|e| {
            AppError::Store(crate::Said::new(
                format!("the permission registry is broken: {e}"),
                format!("权限登记数据已损坏：{e}"),
            ))
        })?;
        if let Err(e) = config.logs.prune() {
            log::warn!("old logs not pruned: {e}");
        }
        // What a killed app left half-written.
        talkline_meeting::chat::files::remove_part_files(&config.export_dir);
        crate::personal::remove_partial_writes(
            &config.export_dir,
            crate::personal::is_ours_in_downloads,
        );
        crate::personal::remove_partial_writes(
            &crate::effects::photos_dir(&config.data_dir),
            |_| true,
        );
        let core = Arc::new(Self {
            config,
            registry,
            policy: PrivacyPolicy::current(),
            store: Mutex::new(None),
            tiles: Tiles::new(),
            video_socket: tokio::sync::OnceCell::new(),
            events: Mutex::new(Arc::new(NullSink)),
            preview: Mutex::new(None),
            preview_epoch: AtomicU64::new(0),
            share_epoch: AtomicU64::new(0),
            scan: Mutex::new(None),
            call: tokio::sync::Mutex::new(None),
            in_use: Arc::new(Mutex::new(DevicesInUse::default())),
            joining: tokio::sync::Mutex::new(()),
            join_cancel: Mutex::new(None),
            preview_levels: Mutex::new(None),
            speaker_test: Arc::new(AtomicBool::new(false)),
            exit_hook: Mutex::new(None),
            close_guard: CloseGuard::default(),
            opened_link: Default::default(),
            language: Default::default(),
            withdrawn: AtomicBool::new(false),
            effects: Arc::new(LiveEffects::default()),
        });
        Ok(core)
    }

    /// How the shell ends the app (after declining or withdrawing consent).
    pub fn set_exit_hook(&self, hook: Box<dyn Fn() + Send + Sync>) {
        *lock(&self.exit_hook) = Some(hook);
    }

    pub fn request_exit(&self) {
        if let Some(hook) = lock(&self.exit_hook).as_ref() {
            hook();
        }
    }

    /// The window's close button (or Alt+F4): whether to close now. In a
    /// meeting, or joining one, the page asks the user first
    /// (`AppEvent::CloseRequested`).
    pub fn window_may_close(&self) -> bool {
        // Called on the window's event thread: no waiting for the call's
        // lock. Held by someone means in use, so the user is asked.
        let in_meeting = self.joining.try_lock().is_err()
            || self.call.try_lock().map_or(true, |call| call.is_some());
        match self.close_guard.request(in_meeting, Instant::now()) {
            CloseRequest::Close => true,
            CloseRequest::Ask => {
                self.sink().emit(AppEvent::CloseRequested);
                false
            }
        }
    }

    /// The page shows the close question (see `window_may_close`).
    pub fn close_request_answered(&self) {
        self.close_guard.answered();
    }

    pub fn set_event_sink(&self, sink: Arc<dyn EventSink>) {
        *lock(&self.events) = sink;
    }

    pub(crate) fn sink(&self) -> Arc<dyn EventSink> {
        Arc::clone(&lock(&self.events))
    }

    pub(crate) fn emit(&self, event: AppEvent) {
        self.sink().emit(event);
    }

    pub fn tiles(&self) -> &Arc<Tiles> {
        &self.tiles
    }

    pub fn database_path(&self) -> PathBuf {
        self.config.data_dir.join("talkline.db")
    }

    /// Runs `f` with the store, opening it on first use. Only local files
    /// and the OS keyring are touched: never the network.
    pub(crate) fn with_store<T>(
        &self,
        f: impl FnOnce(&Store) -> Result<T, AppError>,
    ) -> Result<T, AppError> {
        // The flag is read under the store's lock, which withdrawal holds
        // while it deletes: no call can reopen (and recreate) the database.
        let mut guard = lock(&self.store);
        if self.withdrawn.load(Ordering::Acquire) {
            return Err(AppError::State(crate::Said::new(
                "consent was withdrawn; TalkLine is closing",
                "同意已撤回；TalkLine 正在关闭",
            )));
        }
        if guard.is_none() {
            *guard = Some(Store::open_or_create(
                &self.database_path(),
                self.config.vault.as_ref(),
            )?);
        }
        match guard.as_ref() {
            Some(store) => f(store),
            None => Err(AppError::Store(crate::Said::new(
                "the database is not open",
                "数据库没有打开",
            ))),
        }
    }

    /// The consent ledger over the open store, speaking the user's language.
    pub(crate) fn ledger<T>(
        &self,
        f: impl FnOnce(&ConsentLedger<'_>) -> Result<T, AppError>,
    ) -> Result<T, AppError> {
        // Read before the store's lock is taken: it reads the store itself.
        let language = self.language();
        self.with_store(|s| {
            f(&ConsentLedger::new(s, &self.registry, &self.policy).speaking(language))
        })
    }

    pub(crate) fn ledger_check(&self, capability: Capability) -> Result<(), AppError> {
        self.ledger(|l| l.require(capability).map_err(AppError::from))
    }

    /// Not through `ledger`: the language in force depends on it.
    pub(crate) fn policy_accepted(&self) -> Result<bool, AppError> {
        self.with_store(|s| {
            Ok(ConsentLedger::new(s, &self.registry, &self.policy).policy_accepted()?)
        })
    }

    pub(crate) fn require_policy(&self) -> Result<(), AppError> {
        if self.policy_accepted()? {
            Ok(())
        } else {
            Err(AppError::PolicyNotAccepted)
        }
    }

    pub async fn status(&self) -> AppStatus {
        let failure = self.store_failure();
        let (accepted, store_error) = match &failure {
            Some(f) => (false, Some(f.message.clone())),
            None => match self.policy_accepted() {
                Ok(a) => (a, None),
                Err(e) => (false, Some(e.to_string())),
            },
        };
        // Nothing is kept before the policy is accepted, logs included.
        if accepted {
            self.config.logs.enable();
        }
        let display_name = if accepted {
            self.settings().map(|s| s.display_name).unwrap_or_default()
        } else {
            String::new()
        };
        let language = self.language();
        // The same version in every language (a test of the policy checks it).
        let policy = PrivacyPolicy::current_in(language);
        AppStatus {
            version: env!("CARGO_PKG_VERSION").into(),
            language: language.tag().into(),
            system_language: talkline_privacy::Language::of_system().tag().into(),
            policy: PolicyView {
                version: self.policy.version,
                accepted,
                title: policy.title,
                text: policy.text,
            },
            display_name,
            default_server: self.config.default_server.to_string(),
            in_meeting: self.call.lock().await.is_some(),
            store_error,
            store_can_be_set_aside: failure.is_some_and(|f| f.can_set_aside),
        }
    }

    pub fn accept_policy(&self, version: u32) -> Result<(), AppError> {
        if version != self.policy.version {
            return Err(AppError::Invalid(crate::Said::new(
                format!(
                    "version {version} is not the current policy (version {})",
                    self.policy.version
                ),
                format!(
                    "版本 {version} 不是当前的隐私政策（当前版本 {}）",
                    self.policy.version
                ),
            )));
        }
        self.ledger(|l| Ok(l.record_policy(true)?))?;
        self.config.logs.enable();
        self.keep_language_picked_before_acceptance();
        Ok(())
    }

    /// The user declined: nothing is recorded (nothing may be kept without
    /// consent) and the shell exits.
    pub fn decline_policy(&self) {
        log::info!("privacy policy declined; exiting");
    }

    pub fn answer_permission(&self, permission: &str, granted: bool) -> Result<(), AppError> {
        let capability = Capability::from_id(permission).ok_or_else(|| {
            AppError::Invalid(crate::Said::new(
                format!("unknown permission {permission:?}"),
                format!("未知的权限 {permission:?}"),
            ))
        })?;
        self.require_policy()?;
        self.ledger(|l| Ok(l.answer(capability, granted)?))
    }

    pub fn parse_meeting(&self, input: &str) -> Result<MeetingTarget, AppError> {
        let link = MeetingLink::parse(input).map_err(|e| AppError::Link(crate::Said::of(&e)))?;
        Ok(MeetingTarget {
            room: link.room,
            server: link.server_or(&self.config.default_server).to_string(),
            has_pin: link.pin.is_some(),
        })
    }

    pub fn list_devices(&self) -> DeviceList {
        devices::list()
    }

    /// Plays a short chime through the speaker a choice names (the
    /// system's default for none), to hear which device plays the meeting.
    pub fn test_speaker(&self, choice: Option<&str>) -> Result<(), AppError> {
        self.require_policy()?;
        let id = devices::resolved(DeviceKind::Speaker, choice);
        crate::speaker_test::play(&id, &self.speaker_test)
    }

    /// Opens the chosen camera as it is, asking first: `None` means
    /// "camera off".
    pub(crate) fn open_plain_camera(
        &self,
        choice: Option<&str>,
    ) -> Result<Option<Box<dyn talkline_media::VideoSource>>, AppError> {
        let id = devices::resolved(DeviceKind::Camera, choice);
        if id == devices::NO_DEVICE {
            return Ok(None);
        }
        self.ledger_check(Capability::Camera)?;
        match id.strip_prefix(devices::FILE_CAMERA_PREFIX) {
            Some(path) if self.config.file_cameras => devices::open_camera_file(path).map(Some),
            Some(_) => Err(AppError::Invalid(crate::Said::new(
                format!("unknown device {id:?}"),
                format!("未知的设备 {id:?}"),
            ))),
            None => devices::open_camera(&id).map(Some),
        }
    }

    /// Opens the chosen camera with beauty and background applied, asking
    /// first: `None` means "camera off".
    pub(crate) fn open_camera(
        &self,
        choice: Option<&str>,
    ) -> Result<Option<Box<dyn talkline_media::VideoSource>>, AppError> {
        match self.open_plain_camera(choice)? {
            Some(camera) => self.effects.wrap(camera).map(Some),
            None => Ok(None),
        }
    }

    pub(crate) fn open_microphone(
        &self,
        choice: Option<&str>,
    ) -> Result<Option<Box<dyn talkline_media::AudioSource>>, AppError> {
        let id = devices::resolved(DeviceKind::Microphone, choice);
        if id == devices::NO_DEVICE {
            return Ok(None);
        }
        self.ledger_check(Capability::Microphone)?;
        devices::open_microphone(&id).map(Some)
    }

    pub async fn join(self: &Arc<Self>, request: JoinRequest) -> Result<Joined, AppError> {
        // No socket before the policy is accepted.
        self.require_policy()?;
        let _one_at_a_time = self.joining.lock().await;
        if self.call.lock().await.is_some() {
            return Err(AppError::State(
                "already in a meeting; leave it first".into(),
            ));
        }
        let link =
            MeetingLink::parse(&request.input).map_err(|e| AppError::Link(crate::Said::of(&e)))?;
        let name = request.display_name.trim().to_string();
        if name.is_empty()
            || name.chars().count() > MAX_NAME_CHARS
            || name.chars().any(char::is_control)
        {
            return Err(AppError::Invalid(crate::Said::new(
                format!("enter a display name of 1 to {MAX_NAME_CHARS} characters"),
                format!("请输入 1 到 {MAX_NAME_CHARS} 个字符的显示名称"),
            )));
        }
        // The preview holds the devices the call is about to open.
        self.stop_preview();
        self.load_effects();
        let camera = devices::resolved(DeviceKind::Camera, request.camera.as_deref());
        let microphone = devices::resolved(DeviceKind::Microphone, request.microphone.as_deref());
        let speaker = devices::resolved(DeviceKind::Speaker, request.speaker.as_deref());
        let video = self.open_camera(Some(&camera))?;
        let audio = self.open_microphone(Some(&microphone))?;
        // Without a camera or microphone the call is still ready for one
        // chosen later, and others see it off until then.
        let muted = (
            request.audio_muted || audio.is_none(),
            request.video_muted || video.is_none(),
        );
        let (audio_out, speaker) = match devices::open_speaker(&speaker) {
            Ok(out) => (out, speaker),
            Err(e) => {
                log::warn!("no audio output: {e}");
                (None, String::new())
            }
        };
        // Mixed even with no output, so that one chosen later plays at once.
        let audio_out =
            audio_out.or_else(|| {
                Some(Box::new(talkline_media::sink::Discard)
                    as Box<dyn talkline_media::sink::AudioSink>)
            });
        {
            let mut in_use = DevicesInUse::default();
            for (kind, id, choice) in [
                (DeviceKind::Camera, camera, &request.camera),
                (DeviceKind::Microphone, microphone, &request.microphone),
                (DeviceKind::Speaker, speaker, &request.speaker),
            ] {
                in_use.choose(kind, id, devices::left_to_the_system(choice.as_deref()));
            }
            *lock(&self.in_use) = in_use;
        }
        let server = link.server_or(&self.config.default_server).clone();
        let room = link.room;
        let ice = self.ice_for(&link.ice)?;
        let ice_for_chat = ice.clone();
        let hosted = self.hosted(&server, room);
        let entry_token = hosted.as_ref().map(|m| m.entry_token.clone());
        let (cancel, cancelled) = tokio::sync::oneshot::channel();
        *lock(&self.join_cancel) = Some(cancel);
        let joining = talkline_meeting::join(CallConfig {
            server: server.clone(),
            room,
            pin: link.pin.clone(),
            entry_token: entry_token.clone(),
            wait_if_locked: Some({
                let sink = self.sink();
                Box::new(move || sink.emit(AppEvent::WaitingForHost))
            }),
            display: name.clone(),
            video: video.map_or(Outgoing::NoDeviceYet, Outgoing::From),
            audio: audio.map_or(Outgoing::NoDeviceYet, Outgoing::From),
            audio_out,
            video_bitrate_kbps: VIDEO_KBPS,
            // Everyone receives the size their tile needs (the window asks
            // for each participant's by tile width).
            simulcast: true,
            tiles: Some(Arc::clone(&self.tiles)),
            audio_muted: muted.0,
            video_muted: muted.1,
            subscribe: true,
            ice,
            voice: self.voice_settings(),
            publish_as: Default::default(),
        });
        // Waiting for a host can be given up (the window's Cancel).
        let handle = tokio::select! {
            joined = joining => joined,
            Ok(()) = cancelled => Err(talkline_meeting::MeetingError::JoinCancelled),
        };
        lock(&self.join_cancel).take();
        // A meeting we host that the server no longer has is over: its
        // host key is of no more use.
        if let (Err(talkline_meeting::MeetingError::NoSuchRoom(_)), Some(_)) = (&handle, &hosted) {
            let _ = self.with_store(|s| Ok(s.delete_hosted_meeting(&server.to_string(), room)?));
        }
        let handle = handle?;
        let self_id = handle.self_id;
        // Ours, the host's, or the one the host gave us in the waiting room:
        // our screen share gets in with it.
        let entry_token = handle.entry_token.clone();
        let meeting_row = self
            .with_store(|s| Ok(s.add_meeting(&server.to_string(), room, &name, now_unix())?))
            .map_err(|e| log::warn!("meeting history not saved: {e}"))
            .ok();
        let (ended_tx, mut ended_rx) = mpsc::unbounded_channel();
        let fallback = Arc::new(Fallback {
            language: self.language(),
            in_use: Arc::clone(&self.in_use),
            effects: Arc::clone(&self.effects),
            system_default: devices::system_default,
            one_at_a_time: Mutex::new(()),
            allowed: {
                let core = Arc::downgrade(self);
                Box::new(move |kind| {
                    let capability = match kind {
                        DeviceKind::Camera => Capability::Camera,
                        DeviceKind::Microphone => Capability::Microphone,
                        DeviceKind::Speaker => return Ok(()),
                    };
                    core.upgrade()
                        .ok_or_else(|| {
                            AppError::State(crate::Said::new("the app is closing", "应用正在关闭"))
                        })?
                        .ledger_check(capability)
                })
            },
        });
        let chat_target = crate::meeting_chat::ChatTarget {
            server: server.clone(),
            room,
            pin: link.pin.clone(),
            entry_token: entry_token.clone(),
            display: name.clone(),
            feed: self_id,
            files_dir: self.config.export_dir.clone(),
            ice: ice_for_chat,
        };
        let mut active = ActiveCall::start(
            handle,
            InMeeting {
                link: MeetingLink {
                    server: Some(server),
                    room,
                    pin: link.pin.clone(),
                    ice: link.ice.clone(),
                },
                history_row: meeting_row,
            },
            crate::call::Opening {
                muted,
                language: self.language(),
            },
            self.sink(),
            Arc::clone(&self.tiles),
            fallback,
            ended_tx,
        );
        active.share_with = Some(crate::screen_share::ShareWith {
            server: chat_target.server.clone(),
            room,
            pin: chat_target.pin.clone(),
            entry_token,
            display: chat_target.display.clone(),
            ice: chat_target.ice.clone(),
        });
        let host = hosted.is_some();
        let locked = hosted.as_ref().is_some_and(|m| m.waiting_room);
        active.host = hosted.map(|m| Arc::new(talkline_meeting::host::HostControls::new(m)));
        active.lobby = self.watch_lobby(active.host.as_ref(), &chat_target.ice);
        active.chat = Some(crate::meeting_chat::MeetingChat::open(
            chat_target,
            self.language(),
            self.sink(),
        ));
        *self.call.lock().await = Some(active);
        // A call that ends on its own (server gone for good) is cleared.
        let core = Arc::clone(self);
        tokio::spawn(async move {
            if ended_rx.recv().await.is_some() {
                core.finish_call().await;
            }
        });
        self.sink().emit(AppEvent::SelfMuted {
            audio_muted: muted.0,
            video_muted: muted.1,
        });
        Ok(Joined {
            room,
            self_id,
            audio_muted: muted.0,
            video_muted: muted.1,
            host,
            locked,
        })
    }

    async fn finish_call(&self) {
        let call = self.call.lock().await.take();
        if let Some(call) = call {
            if let Some(row) = call.meeting.history_row {
                let _ = self.with_store(|s| Ok(s.finish_meeting(row, now_unix())?));
            }
            call.leave().await;
        }
        self.tiles.clear();
    }

    /// Stops a join still under way: waiting in a waiting room.
    pub fn cancel_join(&self) {
        if let Some(cancel) = lock(&self.join_cancel).take() {
            let _ = cancel.send(());
        }
    }

    pub async fn leave(&self) -> Result<(), AppError> {
        if self.call.lock().await.is_none() {
            return Err(AppError::State(crate::Said::new(
                "not in a meeting",
                "当前不在会议中",
            )));
        }
        self.finish_call().await;
        Ok(())
    }

    pub async fn set_audio_muted(&self, muted: bool) -> Result<(), AppError> {
        self.set_muted(DeviceKind::Microphone, muted).await
    }

    pub async fn set_video_muted(&self, muted: bool) -> Result<(), AppError> {
        self.set_muted(DeviceKind::Camera, muted).await
    }

    async fn set_muted(&self, kind: DeviceKind, muted: bool) -> Result<(), AppError> {
        self.with_call(|c| {
            c.muted.set(
                kind,
                muted,
                || self.has_device(kind),
                |m| c.handle.command(m),
            )
        })
        .await
    }

    /// Unmuting without a device would say "on" while nothing is sent.
    fn has_device(&self, kind: DeviceKind) -> Result<(), AppError> {
        if devices::is_a_device(lock(&self.in_use).id(kind)) {
            return Ok(());
        }
        Err(AppError::State(crate::Said::new(
            format!(
                "there is no {} in this call: choose one under Devices",
                kind.name()
            ),
            format!(
                "本次通话中没有{}：请在“设备”中选择一个",
                crate::fallback::kind_said(kind, Language::SimplifiedChinese)
            ),
        )))
    }

    async fn with_call(
        &self,
        f: impl FnOnce(&mut ActiveCall) -> Result<(), AppError>,
    ) -> Result<(), AppError> {
        let mut guard = self.call.lock().await;
        let call = guard.as_mut().ok_or_else(|| {
            AppError::State(crate::Said::new("not in a meeting", "当前不在会议中"))
        })?;
        f(call)?;
        self.sink().emit(call.muted.event());
        Ok(())
    }

    /// Switches a device in the running call without renegotiating.
    pub async fn switch_device(&self, kind: &str, id: Option<&str>) -> Result<(), AppError> {
        let (kind, id) = match kind {
            "camera" => (DeviceKind::Camera, id),
            "microphone" => (DeviceKind::Microphone, id),
            "speaker" => (DeviceKind::Speaker, id),
            other => {
                return Err(AppError::Invalid(crate::Said::new(
                    format!("unknown device kind {other:?}"),
                    format!("未知的设备类型 {other:?}"),
                )));
            }
        };
        let follows = devices::left_to_the_system(id);
        let id = devices::resolved(kind, id);
        // "No camera" or "No microphone" lets go of the device (its light
        // goes out) and shows it off to everyone.
        let mut releases = false;
        let command = match kind {
            DeviceKind::Camera => match self.open_camera(Some(&id))? {
                Some(source) => CallCommand::ReplaceVideoSource(source),
                None => {
                    releases = true;
                    CallCommand::ReleaseVideoSource
                }
            },
            DeviceKind::Microphone => match self.open_microphone(Some(&id))? {
                Some(source) => CallCommand::ReplaceAudioSource(source),
                None => {
                    releases = true;
                    CallCommand::ReleaseAudioSource
                }
            },
            DeviceKind::Speaker => match devices::open_speaker(&id)? {
                Some(sink) => CallCommand::ReplaceAudioOutput(sink),
                None => CallCommand::ReplaceAudioOutput(Box::new(talkline_media::sink::Discard)),
            },
        };
        let mut guard = self.call.lock().await;
        let call = guard.as_mut().ok_or_else(|| {
            AppError::State(crate::Said::new("not in a meeting", "当前不在会议中"))
        })?;
        if releases && call.muted.turn_off(kind, |m| call.handle.command(m)) {
            self.sink().emit(call.muted.event());
        }
        call.handle.command(command);
        lock(&self.in_use).choose(kind, id, follows);
        Ok(())
    }

    /// How others join this meeting: its link, and the link as a QR code.
    pub async fn invitation(&self) -> Result<Invitation, AppError> {
        let guard = self.call.lock().await;
        let call = guard.as_ref().ok_or_else(|| {
            AppError::State(crate::Said::new("not in a meeting", "当前不在会议中"))
        })?;
        let code = MeetingQrCode::of(&call.meeting.link)
            .map_err(|e| AppError::Link(crate::Said::of(&e)))?;
        Ok(Invitation {
            link: call.meeting.link.to_string(),
            qr_width: code.width(),
            qr_rows: code.rows(),
        })
    }

    pub fn recent_meetings(&self) -> Result<Vec<RecentMeeting>, AppError> {
        self.require_policy()?;
        let all = self.with_store(|s| Ok(s.meetings()?))?;
        let mut seen = std::collections::HashSet::new();
        Ok(all
            .into_iter()
            .filter(|m| seen.insert((m.server.clone(), m.room)))
            .take(10)
            .map(|m| RecentMeeting {
                room: m.room,
                server: m.server,
                joined_at: m.joined_at,
            })
            .collect())
    }

    /// The newest picture of `tile` after `after` (see `window_video`).
    pub async fn next_frame(&self, tile: &str, after: u64) -> Vec<u8> {
        window_video::next_frame(&self.tiles, tile, after).await
    }

    /// Where the window reads encoded video without the shell's IPC (see
    /// `video_socket`): the socket starts listening on the first ask.
    pub async fn video_socket(&self) -> Result<VideoSocketAddress, AppError> {
        let socket = self
            .video_socket
            .get_or_try_init(|| VideoSocket::start(Arc::clone(&self.tiles)))
            .await
            .map_err(|e| {
                AppError::Media(crate::Said::new(
                    format!("no loopback socket for video: {e}"),
                    format!("无法为视频打开本机回环套接字：{e}"),
                ))
            })?;
        Ok(socket.address().clone())
    }

    /// The encoded frames of every tile in `cursors` (see `window_video`).
    pub async fn next_encoded(
        &self,
        cursors: &[TileCursor],
        wait_ms: Option<u64>,
    ) -> Result<Vec<u8>, AppError> {
        window_video::next_encoded(&self.tiles, cursors, wait_ms).await
    }

    /// Leaves any meeting and stops capture: for shutdown.
    pub async fn shutdown(&self) {
        self.stop_preview();
        self.finish_call().await;
    }
}
