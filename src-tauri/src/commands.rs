//! The commands the window may call (each listed in capabilities/main.json).
//! Each is one call into `AppCore`; nothing is decided here.

use std::sync::Arc;

use serde::Serialize;
use talkline_client::core::{RecentMeeting, TileCursor};
use talkline_client::hosting::{HostAction, NewMeeting};
use talkline_client::{
    AppCore, AppError, AppEvent, AppStatus, BackgroundOption, DeviceList, EffectsChoice, EventSink,
    Invitation, JoinRequest, Joined, MeetingTarget, PrivacyChoiceView, ScannedMeeting,
    ScheduleRequest, ScheduledMeeting, Settings, VideoSocketAddress, Withdrawal,
};
use tauri::State;
use tauri::ipc::{Channel, Response};

type Core<'a> = State<'a, Arc<AppCore>>;
type Reply<T> = Result<T, AppError>;

#[tauri::command]
pub async fn app_status(core: Core<'_>) -> Reply<AppStatus> {
    Ok(core.status().await)
}

#[tauri::command]
pub fn accept_policy(core: Core<'_>, version: u32) -> Reply<()> {
    core.accept_policy(version)
}

/// The page shows the question a close request mid-meeting asks.
#[tauri::command]
pub fn close_request_answered(core: Core<'_>) {
    core.close_request_answered();
}

/// "Leave and close": the exit leaves the meeting first (see `run`).
#[tauri::command]
pub fn quit(core: Core<'_>) {
    core.request_exit();
}

/// The meeting's link and QR code, for the Invite panel.
#[tauri::command]
pub async fn meeting_invitation(core: Core<'_>) -> Reply<Invitation> {
    core.invitation().await
}

#[tauri::command]
pub async fn decline_policy(core: Core<'_>) -> Reply<()> {
    core.decline_policy();
    core.request_exit();
    Ok(())
}

/// Opens the system's privacy page for a permission it refused.
#[tauri::command]
pub fn open_system_settings(core: Core<'_>, permission: String) -> Reply<()> {
    core.open_system_settings(&permission)
}

#[tauri::command]
pub fn parse_meeting(core: Core<'_>, input: String) -> Reply<MeetingTarget> {
    core.parse_meeting(&input)
}

/// The meeting link last opened from outside the app, once.
#[tauri::command]
pub fn take_opened_link(core: Core<'_>) -> Reply<Option<String>> {
    Ok(core.take_opened_link())
}

#[tauri::command]
pub async fn list_devices(core: Core<'_>) -> Reply<DeviceList> {
    Ok(core.list_devices())
}

#[tauri::command]
pub async fn test_speaker(core: Core<'_>, speaker: Option<String>) -> Reply<()> {
    core.test_speaker(speaker.as_deref())
}

#[tauri::command]
pub fn get_settings(core: Core<'_>) -> Reply<Settings> {
    core.settings()
}

#[tauri::command]
pub fn set_settings(core: Core<'_>, settings: Settings) -> Reply<()> {
    core.set_settings(&settings)
}

#[tauri::command]
pub async fn start_preview(
    core: Core<'_>,
    camera: Option<String>,
    microphone: Option<String>,
) -> Reply<()> {
    core.start_preview(camera.as_deref(), microphone.as_deref())
}

#[tauri::command]
pub async fn stop_preview(core: Core<'_>) -> Reply<()> {
    core.stop_preview();
    Ok(())
}

#[tauri::command]
pub async fn join(core: Core<'_>, request: JoinRequest) -> Reply<Joined> {
    core.join(request).await
}

#[tauri::command]
pub async fn new_meeting(
    core: Core<'_>,
    pin: Option<String>,
    waiting_room: bool,
) -> Reply<NewMeeting> {
    core.new_meeting(pin, waiting_room).await
}

#[tauri::command]
pub async fn cancel_join(core: Core<'_>) -> Reply<()> {
    core.cancel_join();
    Ok(())
}

#[tauri::command]
pub async fn host_action(core: Core<'_>, action: HostAction) -> Reply<()> {
    core.host_action(action).await
}

#[tauri::command]
pub async fn leave(core: Core<'_>) -> Reply<()> {
    core.leave().await
}

#[tauri::command]
pub async fn set_original_sound(core: Core<'_>, on: bool) -> Reply<()> {
    core.set_original_sound(on).await
}

#[tauri::command]
pub async fn set_participant_volume(core: Core<'_>, feed_id: u64, percent: u32) -> Reply<()> {
    core.set_participant_volume(feed_id, percent).await
}

#[tauri::command]
pub async fn set_video_layer(core: Core<'_>, feed_id: u64, layer: String) -> Reply<()> {
    core.set_video_layer(feed_id, &layer).await
}

#[tauri::command]
pub async fn send_chat(
    core: Core<'_>,
    text: String,
    to: Option<String>,
) -> Reply<talkline_client::meeting_chat::ChatMessageView> {
    core.send_chat(&text, to.as_deref()).await
}

#[tauri::command]
pub async fn chat_snapshot(core: Core<'_>) -> Reply<talkline_client::meeting_chat::ChatSnapshot> {
    Ok(core.chat_snapshot().await)
}

#[tauri::command]
pub async fn raise_hand(core: Core<'_>, up: bool) -> Reply<()> {
    core.raise_hand(up).await
}

/// Records the meeting on this device (everyone is told): the file.
#[tauri::command]
pub async fn start_recording(core: Core<'_>) -> Reply<String> {
    core.start_recording().await
}

#[tauri::command]
pub async fn stop_recording(core: Core<'_>) -> Reply<()> {
    core.stop_recording().await
}

/// The recordings made here, for Your data.
#[tauri::command]
pub fn recordings(core: Core<'_>) -> Reply<Vec<talkline_client::meeting_recording::RecordingView>> {
    core.recordings()
}

#[tauri::command]
pub fn open_recording(core: Core<'_>, id: i64) -> Reply<()> {
    core.open_recording(id)
}

#[tauri::command]
pub async fn delete_recording(core: Core<'_>, id: i64) -> Reply<()> {
    core.delete_recording(id).await
}

#[tauri::command]
pub async fn send_reaction(core: Core<'_>, emoji: String) -> Reply<()> {
    core.send_reaction(&emoji).await
}

/// Draws on the whiteboard or a shared screen, erases, undoes, clears,
/// or shows the whiteboard: a new stroke's id.
#[tauri::command]
pub async fn board_request(
    core: Core<'_>,
    request: talkline_client::meeting_board::BoardRequest,
) -> Reply<Option<String>> {
    core.board_request(request).await
}

/// The whiteboard (`screen` null) or a shared screen's annotation.
#[tauri::command]
pub async fn board_strokes(
    core: Core<'_>,
    screen: Option<u64>,
) -> Reply<talkline_client::meeting_board::BoardSnapshot> {
    core.board_strokes(screen).await
}

/// A shared screen's annotation is let go: the share ended.
#[tauri::command]
pub async fn board_forget(core: Core<'_>, screen: u64) -> Reply<()> {
    core.forget_annotation(screen).await;
    Ok(())
}

/// The board as a PNG made here, saved in Downloads: where.
#[tauri::command]
pub async fn save_board_picture(core: Core<'_>, screen: Option<u64>) -> Reply<String> {
    let path = core.save_board_picture(screen).await?;
    Ok(path.display().to_string())
}

/// A file picked in the chat panel, offered to the meeting: its bytes
/// are the request's body, its name (percent-encoded) and the chat
/// username it is for (empty: everyone) are headers.
#[tauri::command]
pub async fn share_file(
    core: Core<'_>,
    request: tauri::ipc::Request<'_>,
) -> Reply<talkline_client::meeting_files::FileView> {
    let tauri::ipc::InvokeBody::Raw(bytes) = request.body() else {
        return Err(AppError::Invalid(
            "send the file's bytes as the request body".into(),
        ));
    };
    let header = |name: &str| {
        request
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(percent_decoded)
            .unwrap_or_default()
    };
    let to = header("x-talkline-to");
    core.share_file(
        &header("x-talkline-name"),
        bytes.clone(),
        (!to.is_empty()).then_some(to.as_str()),
    )
    .await
}

/// `encodeURIComponent`'s text back (a malformed escape stays as it is;
/// bytes that are not UTF-8 become U+FFFD).
fn percent_decoded(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && let (Some(h), Some(l)) = (hex(bytes[i + 1]), hex(bytes[i + 2]))
        {
            out.push((h * 16 + l) as u8);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Asks for a file offered in the meeting; saved in Downloads on arrival.
#[tauri::command]
pub async fn save_shared_file(
    core: Core<'_>,
    id: String,
) -> Reply<talkline_client::meeting_files::FileView> {
    core.save_shared_file(&id).await
}

/// The screens there are to share, with thumbnails for the picker (what
/// would be shared: the app's own window blanked out).
#[tauri::command]
pub async fn screen_sources<R: tauri::Runtime>(
    window: tauri::WebviewWindow<R>,
    core: Core<'_>,
) -> Reply<Vec<talkline_client::screen_share::ScreenSourceView>> {
    let hide = own_x_window(&window);
    let core = Arc::clone(core.inner());
    // A picture of each screen and a PNG of it: not on the window's thread.
    Ok(
        tauri::async_runtime::spawn_blocking(move || core.screen_sources(hide))
            .await
            .unwrap_or_default(),
    )
}

/// The app's own X window: left out of what is shared.
fn own_x_window<R: tauri::Runtime>(window: &tauri::WebviewWindow<R>) -> Option<u64> {
    #[cfg(target_os = "linux")]
    {
        // An X window id is a C `unsigned long`: 32 bits on some targets.
        #[allow(clippy::unnecessary_cast)]
        crate::native_video::x_window_of(window)
            .ok()
            .map(|w| w as u64)
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = window;
        None
    }
}

/// Shares a screen or a window in the meeting, the app's own window
/// blanked out of it, and the computer's sound with it if `sound`.
#[tauri::command]
pub async fn start_screen_share<R: tauri::Runtime>(
    window: tauri::WebviewWindow<R>,
    core: Core<'_>,
    id: String,
    sound: bool,
) -> Reply<()> {
    core.start_screen_share(&id, own_x_window(&window), sound)
        .await
}

#[tauri::command]
pub async fn stop_screen_share(core: Core<'_>) -> Reply<()> {
    core.stop_screen_share().await
}

/// A web link in a chat message, clicked: the system's browser opens it.
#[tauri::command]
pub fn open_web_link(core: Core<'_>, url: String) -> Reply<()> {
    core.open_web_link(&url)
}

#[tauri::command]
pub async fn set_audio_muted(core: Core<'_>, muted: bool) -> Reply<()> {
    core.set_audio_muted(muted).await
}

#[tauri::command]
pub async fn set_video_muted(core: Core<'_>, muted: bool) -> Reply<()> {
    core.set_video_muted(muted).await
}

#[tauri::command]
pub async fn switch_device(core: Core<'_>, kind: String, id: Option<String>) -> Reply<()> {
    core.switch_device(&kind, id.as_deref()).await
}

#[tauri::command]
pub fn recent_meetings(core: Core<'_>) -> Reply<Vec<RecentMeeting>> {
    core.recent_meetings()
}

/// Raw bytes (an ArrayBuffer in the window), not JSON: a 640x360 frame is
/// 345 kB and arrives as one copy.
#[tauri::command]
pub async fn next_frame(core: Core<'_>, tile: String, after: u64) -> Reply<Response> {
    Ok(Response::new(core.next_frame(&tile, after).await))
}

/// VP8 frames of every tile for the window's WebCodecs decoders, in one
/// reply: a few kB a frame instead of `next_frame`'s raw pictures, and one
/// request for the whole grid. `wait_ms`: how long to wait for a frame
/// (shorter while a tile's decoder is busy).
#[tauri::command]
pub async fn next_encoded(
    core: Core<'_>,
    tiles: Vec<TileCursor>,
    wait_ms: Option<u64>,
) -> Reply<Response> {
    Ok(Response::new(core.next_encoded(&tiles, wait_ms).await?))
}

/// Where the window reads encoded video beside this IPC, and the secret it
/// proves itself with: frames then never pass through the UI thread.
#[tauri::command]
pub async fn video_socket(core: Core<'_>) -> Reply<VideoSocketAddress> {
    core.video_socket().await
}

/// Draws the meeting's video natively at the page's tile rectangles (X11;
/// the page asks with `?video=native`); an empty list hides it.
#[cfg(target_os = "linux")]
#[tauri::command]
pub fn place_native_tiles<R: tauri::Runtime>(
    window: tauri::WebviewWindow<R>,
    core: Core<'_>,
    tiles: Vec<crate::native_video::Placement>,
) -> Reply<()> {
    crate::native_video::place(&window, core.tiles(), tiles).map_err(|e| AppError::Media(e.into()))
}

#[cfg(not(target_os = "linux"))]
#[tauri::command]
pub fn place_native_tiles() -> Reply<()> {
    Err(AppError::Media(talkline_client::Said::new(
        "native video is drawn on X11 only",
        "原生视频绘制仅支持 X11",
    )))
}

/// Frames drawn natively per tile, for the page's counters.
#[cfg(target_os = "linux")]
#[tauri::command]
pub fn native_video_stats() -> std::collections::HashMap<String, crate::native_video::TileStatsView>
{
    crate::native_video::stats()
}

#[cfg(not(target_os = "linux"))]
#[tauri::command]
pub fn native_video_stats() -> std::collections::HashMap<String, ()> {
    std::collections::HashMap::new()
}

struct ChannelSink(Channel<AppEvent>);

impl EventSink for ChannelSink {
    fn emit(&self, event: AppEvent) {
        if let Err(e) = self.0.send(event) {
            log::debug!("event not delivered: {e}");
        }
    }
}

#[tauri::command]
pub fn subscribe_events(core: Core<'_>, channel: Channel<AppEvent>) -> Reply<()> {
    core.set_event_sink(Arc::new(ChannelSink(channel)));
    Ok(())
}

#[tauri::command]
pub async fn personal_data(core: Core<'_>) -> Reply<serde_json::Value> {
    core.personal_data()
}

#[tauri::command]
pub async fn export_personal_data(core: Core<'_>) -> Reply<String> {
    core.export_personal_data()
}

#[tauri::command]
pub fn delete_history(core: Core<'_>) -> Reply<()> {
    core.delete_history()
}

/// "" for the system's language, `en` or `zh-CN`; the policy screen's
/// switch (Settings saves it with the other settings).
#[tauri::command]
pub fn set_language(core: Core<'_>, language: String) -> Reply<()> {
    core.set_language(&language)
}

#[tauri::command]
pub fn set_aside_database(core: Core<'_>) -> Reply<String> {
    core.set_aside_database()
}

#[tauri::command]
pub fn clear_cache(core: Core<'_>) -> Reply<u64> {
    core.clear_cache()
}

#[tauri::command]
pub fn privacy_choices(core: Core<'_>) -> Reply<Vec<PrivacyChoiceView>> {
    core.privacy_choices()
}

#[tauri::command]
pub fn set_privacy_choice(core: Core<'_>, id: String, granted: bool) -> Reply<()> {
    core.set_privacy_choice(&id, granted)
}

/// Only ever called by the user's click on "Upload logs".
#[tauri::command]
pub async fn upload_logs(core: Core<'_>) -> Reply<usize> {
    core.upload_logs().await
}

#[tauri::command]
pub fn get_effects(core: Core<'_>) -> Reply<EffectsChoice> {
    core.effects_choice()
}

#[tauri::command]
pub fn set_effects(core: Core<'_>, choice: EffectsChoice) -> Reply<()> {
    core.set_effects(&choice)
}

#[tauri::command]
pub fn background_options(core: Core<'_>) -> Reply<Vec<BackgroundOption>> {
    core.background_options()
}

/// The photo's bytes are the raw request body (no JSON array of numbers
/// for a multi-megabyte file).
#[tauri::command]
pub async fn add_background(core: Core<'_>, request: tauri::ipc::Request<'_>) -> Reply<String> {
    match request.body() {
        tauri::ipc::InvokeBody::Raw(bytes) => core.add_background(bytes),
        tauri::ipc::InvokeBody::Json(_) => Err(AppError::Invalid(
            "send the photo's bytes as the request body".into(),
        )),
    }
}

/// Opens the camera into the `scan` tile and looks for a meeting QR code;
/// a found one arrives as a `qr_scanned` event.
#[tauri::command]
pub async fn start_scan(core: Core<'_>, camera: Option<String>) -> Reply<()> {
    core.start_scan(camera.as_deref())
}

#[tauri::command]
pub async fn stop_scan(core: Core<'_>) -> Reply<()> {
    core.stop_scan();
    Ok(())
}

/// A picture of a meeting QR code the user picked, as the raw request body.
#[tauri::command]
pub async fn scan_qr_image(
    core: Core<'_>,
    request: tauri::ipc::Request<'_>,
) -> Reply<ScannedMeeting> {
    match request.body() {
        tauri::ipc::InvokeBody::Raw(bytes) => core.scan_image(bytes),
        tauri::ipc::InvokeBody::Json(_) => Err(AppError::Invalid(
            "send the picture's bytes as the request body".into(),
        )),
    }
}

#[tauri::command]
pub fn schedule_meeting(core: Core<'_>, request: ScheduleRequest) -> Reply<ScheduledMeeting> {
    core.schedule_meeting(&request)
}

#[tauri::command]
pub fn upcoming_meetings(core: Core<'_>) -> Reply<Vec<ScheduledMeeting>> {
    core.upcoming_meetings()
}

#[tauri::command]
pub fn delete_schedule(core: Core<'_>, id: i64) -> Reply<()> {
    core.delete_schedule(id)
}

/// Saves the meeting as an .ics file in Downloads; returns its path.
#[tauri::command]
pub fn add_to_calendar(core: Core<'_>, id: i64) -> Reply<String> {
    core.add_to_calendar(id)
}

/// Deletes the user's data and closes the app (the reply may not arrive).
#[tauri::command]
pub async fn withdraw_consent(core: Core<'_>) -> Reply<Withdrawal> {
    core.withdraw_consent().await
}

/// Keeps `Serialize` in scope for the command macro's return types.
#[allow(dead_code)]
fn _assert_serialize<T: Serialize>() {}

#[cfg(test)]
mod tests {
    use super::percent_decoded;

    #[test]
    fn names_come_back_as_encode_uri_component_sent_them() {
        assert_eq!(
            percent_decoded("agenda%20%E8%AE%AE%E7%A8%8B.pdf"),
            "agenda 议程.pdf"
        );
        assert_eq!(percent_decoded("..%2F..%2Fx"), "../../x");
        // Malformed escapes stay as they are; bytes that are not UTF-8 do not panic.
        assert_eq!(percent_decoded("100%"), "100%");
        assert_eq!(percent_decoded("%zz%4"), "%zz%4");
        assert_eq!(percent_decoded("%FF"), "\u{fffd}");
    }
}
