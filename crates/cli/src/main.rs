//! `talkline`: join meetings headless, list devices, measure codecs.

mod board;
mod chat;
mod help_zh;
mod host;
mod invite;
mod record;
mod recording;
mod said;
mod scan;
mod screen;
mod shared_files;
mod spec;

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use clap::{CommandFactory, FromArgMatches, Parser, Subcommand};
use talkline_media::audio_device::{MicSource, SpeakerSink};
use talkline_media::camera::CameraSource;
use talkline_media::display::Tiles;
use talkline_media::replay::{CLIP_NAMES, VideoReplay};
use talkline_media::sink::AudioSink;
use talkline_media::source::PatternSource;
use talkline_media::tone::ToneSource;
use talkline_media::voice_processing::VoiceSettings;
use talkline_media::wav::{WavSink, WavSource};
use talkline_media::y4m::Y4mSource;
use talkline_media::{AudioSource, VideoSource};
use talkline_meeting::host::HostedMeeting;
use talkline_meeting::ice_servers::{IceServers, IceUrl, parse_credential};
use talkline_meeting::layers::VideoLayer;
use talkline_meeting::{
    CallCommand, CallConfig, CallEvent, CallState, LinkError, MeetingError, MeetingLink, ServerUrl,
};

use said::{said, say};
use spec::{BackgroundSpec, CameraSpec, MicSpec, SpeakerSpec};
use talkline_effects::{Background, EffectsSettings};
use talkline_media::effects::{
    EffectedSource, EffectsControl, builtin_background, load_background,
};

/// The WebRTC stack reports recoverable protocol noise as warnings, and
/// the PulseAudio client calls a normal disconnect an error.
const QUIET_LOGS: &str = "warn,rtc=error,rtc_ice=error,rtc_dtls=error,rtc_sctp=error,rtc_srtp=error,webrtc=error,pulseaudio::client::reactor=off";

/// The server a bare meeting ID joins when none is given.
const DEFAULT_SERVER: &str = "ws://127.0.0.1:8188";

#[derive(Parser)]
#[command(
    name = "talkline",
    version,
    about = "TalkLine conferencing client (headless)"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Lists cameras, microphones and speakers.
    Devices,
    /// Joins a meeting by link, meeting ID or QR code.
    Join(Box<JoinArgs>),
    /// Starts a new meeting on --server and hosts it: prints the link for
    /// guests (the host key stays in this run). On standard input: mute,
    /// ask-unmute, stop-video, ask-video or remove NAME; lock, unlock, end.
    Host(Box<HostArgs>),
    /// Prints a meeting's invitation: its link, and the link as a QR code.
    Invite(invite::InviteArgs),
    /// Encodes the test pattern (or a Y4M file) into VP8 clips that a load
    /// generator replays with --camera replay:FOLDER.
    RecordReplay(record::RecordArgs),
}

#[derive(Parser)]
struct JoinArgs {
    /// talkline://join?server=…&room=…[&pin=…], or a numeric meeting ID
    #[arg(required_unless_present = "qr")]
    link: Option<String>,
    /// Join the meeting in a QR code: a picture (PNG, JPEG) or a Y4M
    /// recording of a camera held up to it.
    #[arg(long, value_name = "FILE", conflicts_with = "link")]
    qr: Option<PathBuf>,
    #[command(flatten)]
    call: CallArgs,
}

#[derive(Parser)]
struct HostArgs {
    /// Guests wait until you let them in (`admit NAME|all`, `refuse NAME`).
    #[arg(long)]
    waiting_room: bool,
    #[command(flatten)]
    call: CallArgs,
}

/// How to be in a meeting, joined or hosted.
#[derive(clap::Args)]
struct CallArgs {
    /// Your name as others see it.
    #[arg(long)]
    name: String,
    /// Meeting server for a bare meeting ID (`host`: where the meeting is made).
    #[arg(long, default_value = DEFAULT_SERVER)]
    server: String,
    /// Meeting PIN (overrides one in the link; `host`: the PIN guests give).
    #[arg(long)]
    pin: Option<String>,
    /// test | test:WxH@FPS | camera index | FILE.y4m | replay:FOLDER | none
    /// (a replay is VP8 recorded beforehand with `record-replay`, sent as
    /// it is: a load generator that costs no encoder)
    #[arg(long, default_value = "test")]
    camera: String,
    /// test | test:HZ | default | FILE.wav | none
    #[arg(long, default_value = "test")]
    mic: String,
    /// null | default | FILE.wav
    #[arg(long, default_value = "null")]
    speaker: String,
    /// Leave after this many seconds (otherwise on Ctrl-C).
    #[arg(long)]
    duration: Option<f64>,
    /// Write call statistics as JSON to this file at exit.
    #[arg(long)]
    stats_json: Option<PathBuf>,
    /// Video bitrate in kbit/s.
    #[arg(long, default_value_t = 1200)]
    video_kbps: u32,
    /// Join with the microphone muted.
    #[arg(long)]
    muted: bool,
    /// Join with the camera off.
    #[arg(long)]
    camera_off: bool,
    /// Send only: receive nobody's audio or video (bots, load generators).
    /// Participants joining and leaving are still reported.
    #[arg(long)]
    publish_only: bool,
    /// Send the microphone as it is: no echo cancellation, noise
    /// suppression or gain control (music; a headset that does its own).
    #[arg(long)]
    original_sound: bool,
    /// none | blur | blur:STRENGTH | dusk | meadow | studio | FILE.png/.jpg
    /// (computed on this device only)
    #[arg(long, default_value = "none")]
    background: String,
    /// Skin smoothing and brightening, 0 (off) to 1 (on this device only).
    #[arg(long, default_value = "0")]
    beauty: String,
    /// A STUN or TURN server (stun:HOST[:PORT], turn:HOST[:PORT]), up to
    /// four; used when the link gives none.
    #[arg(long = "ice-server", value_name = "URL")]
    ice_servers: Vec<String>,
    /// The TURN servers' user name and credential.
    #[arg(long)]
    ice_username: Option<String>,
    #[arg(long)]
    ice_credential: Option<String>,
    /// Send media only through a TURN relay: the server and the others in
    /// the meeting never see this device's addresses.
    #[arg(long)]
    relay_only: bool,
    /// low | medium | high | paused: which layer of a simulcasting participant's
    /// video to receive (quarter, half or full size).
    #[arg(long, default_value = "high")]
    video_layer: VideoLayer,
    /// Send video at full, half and quarter size at once (simulcast), so
    /// each participant receives the size their tile needs.
    #[arg(long)]
    simulcast: bool,
    /// Do not join the meeting's chat (it is joined unless --publish-only).
    #[arg(long)]
    no_chat: bool,
    /// Share a screen once joined: test, test:WxH@FPS, a .y4m file,
    /// x11[:DISPLAY], window:ID|TITLE (one window; `windows` on
    /// standard input lists them) or portal (Wayland: the desktop's own
    /// picker), then ` +sound` for the computer's
    /// sound too (`share SOURCE` and `share stop` start and stop one
    /// mid-call).
    #[arg(long, value_name = "SOURCE")]
    share_screen: Option<String>,
    /// Record the meeting on this device from the start, into a WebM file
    /// in FOLDER (`record FOLDER` and `record stop` on standard input do
    /// it mid-call).
    #[arg(long, value_name = "FOLDER")]
    record: Option<PathBuf>,
}

/// `volume NAME PERCENT`: how loud one participant plays here.
fn set_volume(stats: &talkline_meeting::stats::CallStats, text: &str) -> Result<String, String> {
    use talkline_meeting::stats::MAX_VOLUME_PERCENT;
    let usage = || {
        say!(
            "volume NAME PERCENT, PERCENT 0 to {MAX_VOLUME_PERCENT}",
            "volume 名字 百分比，百分比为 0 到 {MAX_VOLUME_PERCENT}"
        )
    };
    let (name, percent) = text.trim().rsplit_once(' ').ok_or_else(usage)?;
    let percent: u32 = percent
        .trim_end_matches('%')
        .parse()
        .ok()
        .filter(|p| *p <= MAX_VOLUME_PERCENT)
        .ok_or_else(usage)?;
    let name = name.trim();
    let remote = remote_named(stats, name)?;
    remote.set_volume_percent(percent);
    Ok(say!(
        "volume of {name}: {percent}%",
        "{name} 的音量：{percent}%"
    ))
}

/// The participant a command names.
fn remote_named(
    stats: &talkline_meeting::stats::CallStats,
    name: &str,
) -> Result<std::sync::Arc<talkline_meeting::stats::RemoteStats>, String> {
    stats.remote_named(name).ok_or_else(|| {
        say!(
            "nobody called {name:?} in this meeting",
            "本次会议中没有名叫 {name:?} 的人"
        )
    })
}

/// `layer LAYER` for everyone's video, `layer NAME LAYER` for one
/// participant's.
fn video_layer_command(
    stats: &talkline_meeting::stats::CallStats,
    text: &str,
) -> Result<(CallCommand, String), String> {
    let text = text.trim();
    let (name, layer) = match text.rsplit_once(' ') {
        Some((name, layer)) => (Some(name.trim()), layer),
        None => (None, text),
    };
    let layer: VideoLayer = layer.parse().map_err(|e: MeetingError| {
        let e = said(&e);
        say!(
            "{e} (layer [NAME] low|medium|high|paused)",
            "{e}（layer [名字] low|medium|high|paused）"
        )
    })?;
    let Some(name) = name else {
        return Ok((
            CallCommand::SetVideoLayer(layer),
            say!("video layer: {layer}", "视频层：{layer}"),
        ));
    };
    let remote = remote_named(stats, name)?;
    Ok((
        CallCommand::SetVideoLayerOf {
            feed: remote.feed_id,
            layer,
        },
        say!("video layer of {name}: {layer}", "{name} 的视频层：{layer}"),
    ))
}

/// The STUN and TURN servers of the command line, each checked; the set
/// is checked once the link's are added.
fn ice_servers(args: &CallArgs) -> Result<IceServers, LinkError> {
    Ok(IceServers {
        urls: args
            .ice_servers
            .iter()
            .map(|u| IceUrl::parse(u))
            .collect::<Result<_, _>>()?,
        username: args
            .ice_username
            .as_deref()
            .map(parse_credential)
            .transpose()?,
        credential: args
            .ice_credential
            .as_deref()
            .map(parse_credential)
            .transpose()?,
        relay_only: args.relay_only,
    })
}

fn describe(background: &Background) -> &'static str {
    let language = said::language();
    match background {
        Background::None => language.pick("none", "无"),
        Background::Blur { .. } => language.pick("blur", "模糊"),
        Background::Replace(_) => language.pick("picture", "图片"),
        _ => language.pick("other", "其他"),
    }
}

/// A kind of device as the messages name it.
fn kind_said(kind: talkline_media::devices::DeviceKind) -> String {
    use talkline_media::devices::DeviceKind;
    match (said::language(), kind) {
        (said::Language::SimplifiedChinese, DeviceKind::Camera) => "摄像头".into(),
        (said::Language::SimplifiedChinese, DeviceKind::Microphone) => "麦克风".into(),
        (said::Language::SimplifiedChinese, DeviceKind::Speaker) => "扬声器".into(),
        _ => kind.to_string(),
    }
}

/// Exit codes a script can act on.
mod exit {
    pub const USAGE: u8 = 2;
    pub const UNREACHABLE: u8 = 3;
    pub const REFUSED: u8 = 4;
    pub const LOST: u8 = 5;
    pub const MEDIA: u8 = 6;
}

fn exit_code(e: &MeetingError) -> u8 {
    match e {
        MeetingError::Link(_) => exit::USAGE,
        MeetingError::ServerUnreachable(_) | MeetingError::UntrustedServer(_) => exit::UNREACHABLE,
        MeetingError::NoSuchRoom(_)
        | MeetingError::WrongPin
        | MeetingError::PinRequired
        | MeetingError::RoomFull
        | MeetingError::MeetingLocked
        | MeetingError::RemovedByHost
        | MeetingError::AdmissionRefused
        | MeetingError::Server { .. } => exit::REFUSED,
        MeetingError::Media(_) => exit::MEDIA,
        _ => exit::LOST,
    }
}

fn main() -> ExitCode {
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or(QUIET_LOGS))
        .format_timestamp_millis()
        .init();
    let cli = match parse_command_line() {
        Ok(cli) => cli,
        Err(code) => return code,
    };
    match cli.command {
        Command::Devices => devices(),
        Command::Invite(args) => invite::invite(&args),
        Command::RecordReplay(args) => record::record(&args),
        Command::Join(args) => match runtime() {
            Ok(runtime) => runtime.block_on(join(*args)),
            Err(code) => code,
        },
        Command::Host(args) => match runtime() {
            Ok(runtime) => runtime.block_on(host(*args)),
            Err(code) => code,
        },
    }
}

fn runtime() -> Result<tokio::runtime::Runtime, ExitCode> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| {
            said::error(say!("cannot start the runtime: {e}", "无法启动运行时：{e}"));
            ExitCode::FAILURE
        })
}

/// The command line, read with its help and usage errors in this run's
/// language. `Err`: nothing to run (help was shown, or the line is wrong).
fn parse_command_line() -> Result<Cli, ExitCode> {
    use clap::error::ErrorKind;
    let chinese = said::language() == said::Language::SimplifiedChinese;
    let mut command = if chinese {
        help_zh::in_chinese(Cli::command())
    } else {
        Cli::command()
    };
    let matches = match command.try_get_matches_from_mut(std::env::args_os()) {
        Ok(matches) => matches,
        Err(e)
            if chinese
                && !matches!(
                    e.kind(),
                    ErrorKind::DisplayHelp
                        | ErrorKind::DisplayVersion
                        | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
                ) =>
        {
            eprintln!("{}", help_zh::usage_error(&e));
            return Err(ExitCode::from(exit::USAGE));
        }
        Err(e) => e.exit(),
    };
    // `help [COMMAND]`, which the Chinese command line has as its own.
    if let Some(("help", asked)) = matches.subcommand() {
        let named = asked.get_one::<String>("command").cloned();
        let printed = match named.and_then(|n| command.find_subcommand_mut(n)) {
            Some(sub) => sub.print_help(),
            None => command.print_help(),
        };
        return Err(if printed.is_ok() {
            ExitCode::SUCCESS
        } else {
            ExitCode::FAILURE
        });
    }
    Cli::from_arg_matches(&matches).map_err(|e| e.exit())
}

fn devices() -> ExitCode {
    let print = |title: &str,
                 list: Result<
        Vec<talkline_media::devices::DeviceInfo>,
        talkline_media::MediaError,
    >| {
        println!("{}", say!("{title}:", "{title}："));
        match list {
            Ok(list) if list.is_empty() => println!("{}", say!("  (none found)", "  （未找到）")),
            Ok(list) => {
                for d in list {
                    println!(
                        "  {}: {}{}",
                        d.index,
                        d.key.name(),
                        if d.is_default {
                            said::language().pick(" (default)", "（默认）")
                        } else {
                            ""
                        }
                    );
                }
            }
            Err(e) => {
                let e = said(&e);
                println!("{}", say!("  (unavailable: {e})", "  （不可用：{e}）"))
            }
        }
    };
    let language = said::language();
    print(
        language.pick("cameras", "摄像头"),
        talkline_media::devices::cameras(),
    );
    print(
        language.pick("microphones", "麦克风"),
        talkline_media::devices::microphones(),
    );
    print(
        language.pick("speakers", "扬声器"),
        talkline_media::devices::speakers(),
    );
    ExitCode::SUCCESS
}

fn open_camera(spec: &CameraSpec) -> Result<Option<Box<dyn VideoSource>>, String> {
    Ok(match spec {
        CameraSpec::None => None,
        CameraSpec::Pattern { width, height, fps } => Some(Box::new(
            PatternSource::new(*width, *height, *fps).map_err(|e| said(&e))?,
        )),
        CameraSpec::File(path) => Some(Box::new(Y4mSource::open(path).map_err(|e| said(&e))?)),
        CameraSpec::Replay(folder) => {
            Some(Box::new(VideoReplay::open(folder).map_err(|e| said(&e))?))
        }
        CameraSpec::Device(index) => Some(Box::new(
            CameraSource::open(*index, 640, 360, 30).map_err(|e| said(&e))?,
        )),
    })
}

fn open_mic(spec: &MicSpec) -> Result<Option<Box<dyn AudioSource>>, String> {
    Ok(match spec {
        MicSpec::None => None,
        MicSpec::Tone(hz) => Some(Box::new(ToneSource::new(*hz).map_err(|e| said(&e))?)),
        MicSpec::File(path) => Some(Box::new(WavSource::open(path).map_err(|e| said(&e))?)),
        MicSpec::Default => Some(Box::new(MicSource::open(None).map_err(|e| said(&e))?)),
    })
}

/// Turns the `--background` choice into what the effects pipeline takes;
/// an unreadable picture is the user's error, not a media failure.
fn background(spec: &BackgroundSpec) -> Result<Background, String> {
    Ok(match spec {
        BackgroundSpec::None => Background::None,
        BackgroundSpec::Blur(strength) => Background::Blur {
            strength: *strength,
        },
        BackgroundSpec::Builtin(name) => {
            Background::Replace(Arc::new(builtin_background(name).ok_or_else(|| {
                say!("no built-in background {name:?}", "没有内置背景 {name:?}")
            })?))
        }
        BackgroundSpec::Image(path) => {
            let path = path.display();
            let bytes = std::fs::read(path.to_string())
                .map_err(|e| say!("--background {path}: {e}", "--background {path}：{e}"))?;
            Background::Replace(Arc::new(load_background(&bytes).map_err(|e| {
                let e = said(&e);
                say!("--background {path}: {e}", "--background {path}：{e}")
            })?))
        }
    })
}

fn effects_settings(background_text: &str, beauty: f32) -> Result<EffectsSettings, String> {
    Ok(EffectsSettings {
        beauty,
        background: background(&spec::background(background_text)?)?,
        ..Default::default()
    })
}

fn usage_error(message: impl std::fmt::Display) -> ExitCode {
    said::error(message);
    ExitCode::from(exit::USAGE)
}

/// The meeting to join: from the QR code in `--qr`, or the link or ID.
fn meeting(args: &JoinArgs) -> Result<MeetingLink, String> {
    match (&args.qr, &args.link) {
        (Some(path), _) => {
            let link = scan::meeting_in_file(path).map_err(|e| {
                let path = path.display();
                say!("--qr {path}: {e}", "--qr {path}：{e}")
            })?;
            // What will be joined is said before joining (the PIN is not
            // printed: terminals are shared and recorded).
            let room = link.room;
            let server = link
                .server
                .as_ref()
                .map_or_else(String::new, ToString::to_string);
            let pin = if link.pin.is_some() {
                said::language().pick(" with its PIN", "（含密码）")
            } else {
                ""
            };
            println!(
                "{}",
                say!(
                    "QR code: meeting {room} on {server}{pin}",
                    "二维码：{server} 上的会议 {room}{pin}"
                )
            );
            Ok(link)
        }
        (None, Some(text)) => MeetingLink::parse(text).map_err(|e| said(&e)),
        (None, None) => Err(say!(
            "give a meeting link or ID, or --qr FILE",
            "请给出会议链接或会议号，或 --qr 文件"
        )),
    }
}

async fn join(args: JoinArgs) -> ExitCode {
    let link = match meeting(&args) {
        Ok(link) => link,
        Err(e) => return usage_error(e),
    };
    call(link, args.call, None).await
}

/// Makes a new meeting, says how guests join it, and joins it as host.
async fn host(args: HostArgs) -> ExitCode {
    let waiting_room = args.waiting_room;
    let args = args.call;
    let server = match ServerUrl::parse(&args.server) {
        Ok(s) => s,
        Err(e) => {
            let e = said(&e);
            return usage_error(say!("--server: {e}", "--server：{e}"));
        }
    };
    // Checked as a link's PIN is: guests will give it in theirs.
    let pin = match &args.pin {
        Some(pin) => match MeetingLink::parse("1").and_then(|l| l.with_pin(pin)) {
            Ok(link) => link.pin,
            Err(e) => {
                let e = said(&e);
                return usage_error(say!("--pin: {e}", "--pin：{e}"));
            }
        },
        None => None,
    };
    let meeting = match talkline_meeting::host::create_meeting(&server, pin, waiting_room).await {
        Ok(meeting) => meeting,
        Err(e) => {
            said::error(said(&e));
            return ExitCode::from(exit_code(&e));
        }
    };
    let (room, link) = (meeting.room, meeting.guest_link());
    println!(
        "{}",
        say!(
            "new meeting {room}: guests join with {link}",
            "新会议 {room}：来宾用此链接加入 {link}"
        )
    );
    call(link, args, Some(meeting)).await
}

/// Joins `link` (as its host when `hosted`) and runs the call until it
/// ends, carrying out what is typed on standard input.
async fn call(link: MeetingLink, args: CallArgs, hosted: Option<HostedMeeting>) -> ExitCode {
    let default_server = match ServerUrl::parse(&args.server) {
        Ok(s) => s,
        Err(e) => {
            let e = said(&e);
            return usage_error(say!("--server: {e}", "--server：{e}"));
        }
    };
    let name = args.name.trim();
    if name.is_empty() || name.chars().count() > 64 || name.chars().any(char::is_control) {
        return usage_error(say!(
            "--name must be 1 to 64 printable characters",
            "--name 必须是 1 到 64 个可打印字符"
        ));
    }
    let (camera, mic, speaker) = match (
        spec::camera(&args.camera),
        spec::mic(&args.mic),
        spec::speaker(&args.speaker),
    ) {
        (Ok(c), Ok(m), Ok(s)) => (c, m, s),
        (Err(e), _, _) | (_, Err(e), _) | (_, _, Err(e)) => return usage_error(e),
    };
    let mut effects = match spec::beauty(&args.beauty)
        .and_then(|beauty| effects_settings(&args.background, beauty))
    {
        Ok(e) => e,
        Err(e) => return usage_error(e),
    };
    if let Some(d) = args.duration
        && !(d > 0.0 && d < 7.0 * 86_400.0)
    {
        return usage_error(say!(
            "--duration must be a positive number of seconds",
            "--duration 必须是正的秒数"
        ));
    }
    // A missing device is reported and the call goes on with what exists.
    let video = open_camera(&camera).unwrap_or_else(|e| {
        said::warning(say!("{e}; joining without video", "{e}；不带视频加入"));
        None
    });
    // Effects run in the capture thread, before the encoder: the pictures
    // leave this device only as the processed video of the call.
    let effects_control = EffectsControl::new();
    // A replay is sent as it was encoded: it goes past the effects, and
    // its three clips (if it has them) are the three simulcast layers.
    let replay = matches!(camera, CameraSpec::Replay(_));
    let simulcast = args.simulcast
        || matches!(&camera, CameraSpec::Replay(folder) if folder.join(CLIP_NAMES[1]).exists());
    let video = match video {
        Some(source) if replay => Some(source),
        Some(source) => {
            match EffectedSource::wrap(source, effects.clone(), Arc::clone(&effects_control)) {
                Ok(wrapped) => Some(Box::new(wrapped) as Box<dyn VideoSource>),
                Err(e) => {
                    said::error(said(&e));
                    return ExitCode::from(exit::MEDIA);
                }
            }
        }
        None => None,
    };
    let audio = open_mic(&mic).unwrap_or_else(|e| {
        said::warning(say!("{e}; joining without audio", "{e}；不带音频加入"));
        None
    });
    let audio_out: Option<Box<dyn AudioSink>> = match &speaker {
        SpeakerSpec::Null => None,
        SpeakerSpec::Default => match SpeakerSink::open(None) {
            Ok(s) => Some(Box::new(s)),
            Err(e) => {
                let e = said(&e);
                said::warning(say!("{e}; others will not be heard", "{e}；将听不到其他人"));
                None
            }
        },
        SpeakerSpec::File(path) => match WavSink::create(path) {
            Ok(s) => Some(Box::new(s)),
            Err(e) => return usage_error(said(&e)),
        },
    };
    let ice = match ice_servers(&args) {
        Ok(settings) => link.ice.clone().or(&settings),
        Err(e) => {
            let e = said(&e);
            return usage_error(say!("--ice-server: {e}", "--ice-server：{e}"));
        }
    };
    if let Err(e) = ice.validate() {
        return usage_error(said(&e));
    }
    let server = link.server_or(&default_server).clone();
    let pin = args.pin.clone().or(link.pin.clone());
    let chat_ice = ice.clone();
    let tiles = Tiles::new();
    let entry_token = hosted.as_ref().map(|m| m.entry_token.clone());
    let config = CallConfig {
        server: server.clone(),
        room: link.room,
        pin: pin.clone(),
        entry_token: entry_token.clone(),
        // Told as it happens; the join returns once the host lets us in.
        wait_if_locked: Some(Box::new(|| {
            println!(
                "{}",
                say!(
                    "waiting for the host to let you in…",
                    "正在等待主持人让您进入…"
                )
            );
        })),
        display: name.to_string(),
        video: video.into(),
        audio: audio.into(),
        audio_out,
        video_bitrate_kbps: args.video_kbps,
        simulcast,
        // Kept for the whiteboard's `board save` of a shared screen.
        tiles: Some(Arc::clone(&tiles)),
        audio_muted: args.muted,
        video_muted: args.camera_off,
        subscribe: !args.publish_only,
        ice,
        voice: VoiceSettings::with_original_sound(args.original_sound),
        publish_as: Default::default(),
    };
    let mut call = match talkline_meeting::join(config).await {
        Ok(call) => call,
        Err(e) => {
            said::error(said(&e));
            return ExitCode::from(exit_code(&e));
        }
    };
    let room = link.room;
    println!(
        "{}",
        say!(
            "joined meeting {room} on {server} as {name}",
            "已以 {name} 的身份加入 {server} 上的会议 {room}"
        )
    );
    if args.video_layer != VideoLayer::default() {
        call.command(CallCommand::SetVideoLayer(args.video_layer));
    }
    let share_target = screen::ShareTarget {
        server: server.clone(),
        room,
        pin: pin.clone(),
        entry_token: call.entry_token.clone(),
        display: name.to_string(),
        ice: chat_ice.clone(),
        commands: call.commands(),
        played: call.played.clone(),
    };
    let mut host_line = host::HostLine::new(hosted, &chat_ice);
    let mut recording_line =
        recording::RecordingLine::new(room, Arc::clone(&call.recording), Arc::clone(&call.stats));
    let mut screen_share = screen::ScreenShare::default();
    if let Some(spec) = &args.share_screen {
        screen_share.start(&share_target, spec).await;
    }
    // Bots and load generators stay out of the chat.
    let mut chat = (!args.publish_only && !args.no_chat)
        .then(|| chat::ChatLine::open(&share_target, call.self_id, tiles));
    if let Some(folder) = &args.record {
        recording_line.start(folder, chat.as_mut()).await;
    }
    let deadline = async {
        match args.duration {
            Some(d) => tokio::time::sleep(Duration::from_secs_f64(d)).await,
            None => std::future::pending().await,
        }
    };
    tokio::pin!(deadline);
    let shutdown = shutdown_signal();
    tokio::pin!(shutdown);
    let mut commands = stdin_commands();
    let mut outcome: Option<MeetingError> = None;

    let mut roster = host::Roster::default();
    loop {
        tokio::select! {
            _ = &mut deadline => break,
            _ = &mut shutdown => break,
            Some(line) = commands.recv() => match line.trim() {
                "mute" => call.command(CallCommand::SetAudioMuted(true)),
                "unmute" => call.command(CallCommand::SetAudioMuted(false)),
                "camera off" => call.command(CallCommand::SetVideoMuted(true)),
                "camera on" => call.command(CallCommand::SetVideoMuted(false)),
                "original sound on" => call.command(CallCommand::SetVoiceSettings(VoiceSettings::with_original_sound(true))),
                "original sound off" => call.command(CallCommand::SetVoiceSettings(VoiceSettings::with_original_sound(false))),
                "leave" => break,
                "share stop" => screen_share.stop().await,
                "windows" => screen::list_windows(),
                line if line.starts_with("share ") => {
                    screen_share.start(&share_target, &line["share ".len()..]).await;
                }
                line if host::HostLine::understands(line) => host_line.command(line, &roster).await,
                line if recording::RecordingLine::understands(line) => recording_line.command(line, chat.as_mut()).await,
                line if chat::ChatLine::understands(line) => match chat.as_mut() {
                    Some(chat) => chat.command(line).await,
                    None => said::error(say!("this run is not in the chat (--no-chat)", "本次运行没有加入聊天（--no-chat）")),
                },
                // The call's statistics now, as one line of JSON: what a
                // script watching a call (or a test of one) reads mid-call.
                "stats" => {
                    println!("stats: {}", call.stats.snapshot());
                    if let Some(share) = screen_share.stats() {
                        println!("share stats: {share}");
                    }
                }
                "" => {}
                other => {
                    if let Some(rest) = other.strip_prefix("layer ") {
                        match video_layer_command(&call.stats, rest) {
                            Ok((command, line)) => {
                                call.command(command);
                                println!("{line}");
                            }
                            Err(e) => said::error(e),
                        }
                        continue;
                    }
                    if let Some(rest) = other.strip_prefix("volume ") {
                        match set_volume(&call.stats, rest) {
                            Ok(line) => println!("{line}"),
                            Err(e) => said::error(e),
                        }
                        continue;
                    }
                    let changed = if let Some(spec) = other.strip_prefix("background ") {
                        effects_settings(spec.trim(), effects.beauty).map(Some)
                    } else if let Some(level) = other.strip_prefix("beauty ") {
                        spec::beauty(level.trim()).map(|beauty| Some(EffectsSettings { beauty, ..effects.clone() }))
                    } else {
                        let commands = "mute, unmute, camera off, camera on, mute|ask-unmute|stop-video|ask-video|remove NAME, lock, unlock, end, background SPEC, beauty 0..1, volume NAME 0..200, layer [NAME] low|medium|high|paused, original sound on|off, say TEXT, whisper NAME: TEXT, hand up|down, react EMOJI, file PATH, file-to NAME: PATH, save N FOLDER, share SOURCE, share stop, windows, record [FOLDER], record stop, board show|hide, draw TOOL X,Y…, erase ID…, undo, clear, board save PATH, stats, leave";
                        said::error(say!("unknown command {other:?}: {commands}", "未知命令 {other:?}，可用的命令：{commands}"));
                        Ok(None)
                    };
                    match changed {
                        Ok(Some(next)) => {
                            effects = next;
                            effects_control.set(effects.clone());
                            let (background, beauty) = (describe(&effects.background), effects.beauty);
                            println!("{}", say!("effects: background {background}, beauty {beauty}", "效果：背景 {background}，美颜 {beauty}"));
                        }
                        Ok(None) => {}
                        Err(e) => said::error(e),
                    }
                }
            },
            () = screen_share.next(&share_target) => {}
            ended = recording_line.stopped() => recording_line.show(ended, chat.as_mut()).await,
            Some(event) = host_line.next_lobby_event() => host_line.show(event),
            Some(event) = next_chat_event(&mut chat) => {
                if let Some(chat) = chat.as_mut() {
                    chat.show(event);
                }
            }
            event = call.events.recv() => match event {
                Some(CallEvent::State(CallState::Reconnecting)) => println!("{}", say!("reconnecting…", "正在重新连接…")),
                Some(CallEvent::State(CallState::Joined)) => println!("{}", say!("connected", "已连接")),
                Some(CallEvent::State(_)) => {}
                Some(CallEvent::ParticipantJoined(p)) if p.screen => {
                    roster.joined(&p);
                    let who = &p.display;
                    println!("{}", say!("+ {who} is sharing their screen", "+ {who} 正在共享屏幕"));
                }
                Some(CallEvent::ParticipantJoined(p)) => {
                    roster.joined(&p);
                    let who = &p.display;
                    println!("{}", say!("+ {who} joined", "+ {who} 加入了会议"));
                }
                Some(CallEvent::ParticipantChanged(p)) => {
                    roster.joined(&p);
                    let language = said::language();
                    let who = &p.display;
                    let by_host = language.pick("turned off by the host", "已被主持人关闭");
                    let microphone = if p.audio_held { by_host } else if p.audio_muted { language.pick("muted", "已静音") } else { language.pick("on", "开启") };
                    let camera = if p.video_held { by_host } else if p.video_muted { language.pick("off", "关闭") } else { language.pick("on", "开启") };
                    println!("{}", say!("~ {who} microphone {microphone}, camera {camera}", "~ {who} 麦克风{microphone}，摄像头{camera}"));
                }
                Some(CallEvent::ParticipantLeft(p)) if p.screen => {
                    roster.left(&p);
                    let who = &p.display;
                    println!("{}", say!("- {who} stopped sharing their screen", "- {who} 停止了共享屏幕"));
                }
                Some(CallEvent::ParticipantLeft(p)) => {
                    roster.left(&p);
                    let who = &p.display;
                    println!("{}", say!("- {who} left", "- {who} 离开了会议"));
                }
                Some(CallEvent::DeviceLost(kind)) => {
                    let kind = kind_said(kind);
                    said::warning(say!("the {kind} stopped; the call goes on without it", "{kind}已停止；通话将在没有它的情况下继续"));
                }
                Some(CallEvent::DeviceSwitchFailed(kind, why)) => {
                    let kind = kind_said(kind);
                    said::warning(say!("cannot switch the {kind}: {why}", "无法切换{kind}：{why}"));
                }
                Some(CallEvent::RelayUnreachable(why)) => said::warning(why),
                Some(CallEvent::HostHeld { kind, held: true }) => {
                    let kind = kind_said(kind);
                    said::warning(say!("the host turned off your {kind}", "主持人关闭了您的{kind}"));
                }
                Some(CallEvent::HostHeld { kind, held: false }) => {
                    let (what, command) = match kind {
                        talkline_media::devices::DeviceKind::Camera => (kind_said(kind), "camera on"),
                        _ => (kind_said(kind), "unmute"),
                    };
                    println!("{}", say!("the host asks you to turn on your {what}: type {command} to do so", "主持人请您打开{what}：输入 {command} 即可打开"));
                }
                Some(CallEvent::Refused(e)) => said::error(said(&e)),
                Some(CallEvent::NewId(_)) => {}
                Some(CallEvent::Ended(e)) => {
                    outcome = e;
                    break;
                }
                None => break,
            },
        }
    }
    recording_line.finish(chat.as_mut()).await;
    if let Some(chat) = chat {
        chat.leave().await;
    }
    host_line.close().await;
    screen_share.end().await;
    let stats = std::sync::Arc::clone(&call.stats);
    call.leave().await;
    println!("{}", say!("left the meeting", "已离开会议"));
    let stats = stats.snapshot();
    if let Some(path) = &args.stats_json {
        let text = serde_json::to_string_pretty(&stats).unwrap_or_default();
        if let Err(e) = std::fs::write(path, text + "\n") {
            let path = path.display();
            said::error(say!("cannot write {path}: {e}", "无法写入 {path}：{e}"));
            return ExitCode::FAILURE;
        }
    }
    match outcome {
        // Not an error of this run: the meeting is over.
        Some(e @ MeetingError::MeetingEnded) => {
            println!("{}", said(&e));
            ExitCode::SUCCESS
        }
        Some(e) => {
            said::error(said(&e));
            ExitCode::from(exit_code(&e))
        }
        None => ExitCode::SUCCESS,
    }
}

async fn next_chat_event(
    chat: &mut Option<chat::ChatLine>,
) -> Option<talkline_meeting::chat::ChatEvent> {
    match chat {
        Some(chat) => chat.next_event().await,
        None => std::future::pending().await,
    }
}

/// Lines typed on standard input (mute, unmute, camera off/on, leave).
/// A closed or absent stdin simply yields nothing.
fn stdin_commands() -> tokio::sync::mpsc::UnboundedReceiver<String> {
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    let _ = std::thread::Builder::new()
        .name("talkline-stdin".into())
        .spawn(move || {
            for line in std::io::stdin().lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
    rx
}

async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
