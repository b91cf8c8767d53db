//! The TalkLine app shell: a Tauri window around `talkline-client`. This
//! crate only wires: commands (commands.rs), where data lives, the default
//! server, and shutdown. The mobile entry point is `run`.

mod commands;
// A build that no package installed registers itself for talkline:// links.
#[cfg(all(target_os = "linux", desktop))]
mod link_handler;
#[cfg(target_os = "linux")]
mod native_video;
#[cfg(all(unix, desktop))]
mod single_instance;
#[cfg(target_os = "linux")]
mod webview_helpers;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use talkline_client::{AppCore, CoreConfig, LogFiles};
use talkline_meeting::{MeetingLink, ServerUrl};
use talkline_store::{KeyVault, KeyringVault};
use tauri::{Manager, Runtime};

/// The server a bare meeting ID joins when nothing else is configured: the
/// local Janus the README's run command starts.
pub const DEFAULT_SERVER: &str = "ws://127.0.0.1:8188";

/// Registers every command the window may call.
pub fn with_commands<R: Runtime>(builder: tauri::Builder<R>) -> tauri::Builder<R> {
    builder.invoke_handler(tauri::generate_handler![
        commands::app_status,
        commands::accept_policy,
        commands::decline_policy,
        commands::close_request_answered,
        commands::quit,
        commands::meeting_invitation,
        commands::parse_meeting,
        commands::take_opened_link,
        commands::list_devices,
        commands::get_settings,
        commands::set_settings,
        commands::start_preview,
        commands::stop_preview,
        commands::join,
        commands::leave,
        commands::set_audio_muted,
        commands::set_participant_volume,
        commands::new_meeting,
        commands::host_action,
        commands::cancel_join,
        commands::set_video_layer,
        commands::send_chat,
        commands::chat_snapshot,
        commands::raise_hand,
        commands::start_recording,
        commands::stop_recording,
        commands::recordings,
        commands::open_recording,
        commands::delete_recording,
        commands::send_reaction,
        commands::board_request,
        commands::board_strokes,
        commands::board_forget,
        commands::save_board_picture,
        commands::share_file,
        commands::save_shared_file,
        commands::screen_sources,
        commands::start_screen_share,
        commands::stop_screen_share,
        commands::open_web_link,
        commands::set_original_sound,
        commands::set_video_muted,
        commands::switch_device,
        commands::test_speaker,
        commands::recent_meetings,
        commands::next_frame,
        commands::next_encoded,
        commands::video_socket,
        commands::place_native_tiles,
        commands::native_video_stats,
        commands::subscribe_events,
        commands::personal_data,
        commands::export_personal_data,
        commands::delete_history,
        commands::set_aside_database,
        commands::set_language,
        commands::clear_cache,
        commands::privacy_choices,
        commands::set_privacy_choice,
        commands::withdraw_consent,
        commands::upload_logs,
        commands::get_effects,
        commands::set_effects,
        commands::background_options,
        commands::add_background,
        commands::start_scan,
        commands::stop_scan,
        commands::scan_qr_image,
        commands::schedule_meeting,
        commands::upcoming_meetings,
        commands::delete_schedule,
        commands::add_to_calendar,
        commands::open_system_settings,
    ])
}

/// `TALKLINE_SERVER` overrides the default server (e.g. for a team's own
/// Janus); a malformed value is reported, not ignored.
fn default_server() -> Result<ServerUrl, String> {
    let text = std::env::var("TALKLINE_SERVER").unwrap_or_else(|_| DEFAULT_SERVER.into());
    ServerUrl::parse(&text).map_err(|e| format!("TALKLINE_SERVER {text:?}: {e}"))
}

fn data_dir<R: Runtime>(app: &tauri::App<R>) -> Result<PathBuf, String> {
    if let Some(dir) = std::env::var_os("TALKLINE_DATA_DIR") {
        return Ok(dir.into());
    }
    app.path()
        .app_data_dir()
        .map_err(|e| format!("no place for app data: {e}"))
}

/// The webview's storage (local storage, WebKit's caches): a folder the
/// app names itself instead of the engine's default, so withdrawal knows
/// exactly what to delete, and deletes it last.
fn webview_dir(data_dir: &Path) -> PathBuf {
    data_dir.join("webview")
}

/// The core for this app: its data, cache and webview folders, the log
/// files (which `logs` writes through) and where exports go.
pub fn core_for<R: Runtime>(
    app: &tauri::App<R>,
    vault: Arc<dyn KeyVault>,
    logs: Arc<LogFiles>,
) -> Result<Arc<AppCore>, String> {
    let paths = app.path();
    let data_dir = data_dir(app)?;
    // Where an engine that ignores the explicit folder (macOS, mobile)
    // keeps its storage, under the app's identifier; then ours, last.
    let mut webview_dirs: Vec<PathBuf> = [paths.app_data_dir(), paths.app_local_data_dir()]
        .into_iter()
        .filter_map(Result::ok)
        .filter(|d| *d != data_dir)
        .collect();
    webview_dirs.dedup();
    webview_dirs.push(webview_dir(&data_dir));
    let cache_dirs: Vec<PathBuf> = paths.app_cache_dir().into_iter().collect();
    let export_dir = paths
        .download_dir()
        .or_else(|_| paths.home_dir())
        .unwrap_or_else(|_| data_dir.join("exports"));
    let recordings_dir = paths
        .video_dir()
        .map(|videos| videos.join("TalkLine"))
        .unwrap_or_else(|_| export_dir.join("TalkLine recordings"));
    let core = AppCore::new(CoreConfig {
        data_dir,
        default_server: default_server()?,
        vault,
        logs,
        cache_dirs,
        webview_dirs,
        export_dir,
        recordings_dir,
        file_cameras: false,
    })
    .map_err(|e| e.to_string())?;
    let handle = app.handle().clone();
    core.set_exit_hook(Box::new(move || handle.exit(0)));
    Ok(core)
}

/// Logs go to the terminal and to daily files in the data folder.
fn start_logging<R: Runtime>(app: &tauri::App<R>) -> Result<Arc<LogFiles>, String> {
    let logs = LogFiles::new(data_dir(app)?.join("logs"));
    // The PulseAudio client logs each connection (with the server's path,
    // under the user's home) and calls a normal disconnect an error; the
    // streams' own errors reach the log through the audio devices.
    let _ = env_logger::Builder::from_env(env_logger::Env::default().default_filter_or(
        "info,tao=warn,wry=warn,pulseaudio=warn,pulseaudio::client::reactor=off",
    ))
    .target(env_logger::Target::Pipe(Box::new(logs.writer())))
    .try_init();
    Ok(logs)
}

/// Without a GPU (no DRM render node: virtual machines, Xvfb, remote
/// desktops) WebKitGTK's accelerated compositing runs in software and
/// throttles canvas updates: the window drew a 30 fps participant at 17-18
/// fps that way, and at 30 fps with compositing off (tests/e2e/window.rs,
/// 2-core VM). With a GPU the default stays. A value the user set wins.
#[cfg(target_os = "linux")]
fn prefer_direct_rendering_without_gpu() {
    const VAR: &str = "WEBKIT_DISABLE_COMPOSITING_MODE";
    let has_gpu = std::fs::read_dir("/dev/dri").is_ok_and(|entries| {
        entries
            .filter_map(Result::ok)
            .any(|e| e.file_name().to_string_lossy().starts_with("renderD"))
    });
    if !has_gpu && std::env::var_os(VAR).is_none() {
        // SAFETY: called first thing in `run`, before the app starts any
        // thread that could read the environment.
        unsafe { std::env::set_var(VAR, "1") };
    }
}

/// glibc gives threads that allocate at once arenas of their own, up to
/// eight per core, and each keeps what was freed in it. The app's many
/// threads (decoders, audio, the async runtime, GTK's and WebKit's) held
/// 8 MiB more in a four-person call (app and web process, PSS) than with
/// two arenas; the WebKit processes started later inherit the variable. A
/// value the user set wins.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn fewer_malloc_arenas() {
    const VAR: &str = "MALLOC_ARENA_MAX";
    if std::env::var_os(VAR).is_none() {
        // SAFETY: called first thing in `run`, before the app starts any
        // thread that could allocate or read the environment.
        unsafe {
            libc::mallopt(libc::M_ARENA_MAX, 2);
            std::env::set_var(VAR, "2");
        }
    }
}

/// Opens the window tauri.conf.json describes (`create: false` there), with
/// the webview's storage in the app's own folder.
fn open_main_window<R: Runtime>(app: &tauri::App<R>) -> Result<(), String> {
    let config = app
        .config()
        .app
        .windows
        .iter()
        .find(|w| w.label == "main")
        .cloned()
        .ok_or("tauri.conf.json describes no main window")?;
    let storage = webview_dir(&data_dir(app)?);
    tauri::WebviewWindowBuilder::from_config(app.handle(), &config)
        .and_then(|w| w.data_directory(storage).build())
        .map(|_| ())
        .map_err(|e| format!("the window cannot be opened: {e}"))
}

/// The first argument that is not an option: what the system's link
/// handler passes.
fn link_from_args(mut args: impl Iterator<Item = String>) -> Option<String> {
    args.find(|a| !a.starts_with('-'))
}

/// Links handed over by later starts: kept (checked) until the core
/// exists, then given to it as they come.
#[derive(Default)]
struct LinkInbox {
    core: Option<(Arc<AppCore>, tauri::AppHandle)>,
    waiting: Vec<String>,
}

impl LinkInbox {
    /// A later start's message: a link, or nothing (bring the window
    /// forward). Answers what was wrong with a link.
    #[cfg_attr(not(all(unix, desktop)), allow(dead_code))]
    fn open(inbox: &Mutex<Self>, text: &str) -> Result<(), String> {
        let text = text.trim();
        let mut inbox = inbox.lock().unwrap_or_else(|p| p.into_inner());
        let Some((core, handle)) = inbox.core.clone() else {
            if !text.is_empty() {
                MeetingLink::parse(text).map_err(|e| e.to_string())?;
                inbox.waiting.push(text.to_string());
            }
            return Ok(());
        };
        // The window is asked outside the lock.
        drop(inbox);
        if !text.is_empty() {
            core.open_link(text).map_err(|e| e.to_string())?;
        }
        bring_forward(&handle);
        Ok(())
    }

    /// From now on links go to `core`; returns those that came before.
    fn deliver_to(
        inbox: &Mutex<Self>,
        core: Arc<AppCore>,
        handle: tauri::AppHandle,
    ) -> Vec<String> {
        let mut inbox = inbox.lock().unwrap_or_else(|p| p.into_inner());
        inbox.core = Some((core, handle));
        std::mem::take(&mut inbox.waiting)
    }
}

/// A link the app was opened with; a malformed one is said, not fatal.
fn open_link<R: Runtime>(handle: &tauri::AppHandle<R>, core: &AppCore, link: &str) {
    match core.open_link(link) {
        Ok(()) => bring_forward(handle),
        Err(e) => {
            log::warn!("a link the app was opened with is not a meeting link");
            eprintln!("error: {e}");
        }
    }
}

/// The window in front, as the user asked for it.
fn bring_forward<R: Runtime>(handle: &tauri::AppHandle<R>) {
    if let Some(window) = handle.get_webview_window("main") {
        let _ = window.unminimize();
        let _ = window.show();
        let _ = window.set_focus();
    }
}

#[cfg_attr(mobile, tauri::mobile_entry_point)]
pub fn run() {
    #[cfg(target_os = "linux")]
    prefer_direct_rendering_without_gpu();
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    fewer_malloc_arenas();
    // A meeting link the system opened the app with (`Exec=… %u`).
    let link = link_from_args(std::env::args().skip(1));
    let inbox: Arc<Mutex<LinkInbox>> = Arc::default();
    #[cfg(all(unix, desktop))]
    let release = match single_instance::claim(&single_instance::socket_dir(), link.as_deref()) {
        Ok(single_instance::Claim::First(instance)) => {
            // Served from now on: a start while this one is still starting
            // is answered, and its link kept until the core exists.
            let inbox = Arc::clone(&inbox);
            Some(instance.serve(move |text| LinkInbox::open(&inbox, text)))
        }
        Ok(single_instance::Claim::HandedOver) => {
            if link.is_some() {
                println!("TalkLine is already running: the meeting link went to its window.");
            }
            return;
        }
        Ok(single_instance::Claim::Refused(why)) => {
            eprintln!("error: {why}");
            std::process::exit(2);
        }
        Err(e) => {
            eprintln!("warning: later starts of TalkLine will open windows of their own: {e}");
            None
        }
    };
    let app = with_commands(tauri::Builder::default())
        .setup(move |app| {
            let logs = start_logging(app)?;
            #[cfg(all(target_os = "linux", desktop))]
            link_handler::register_in_background();
            let core = core_for(app, Arc::new(KeyringVault::talkline()), logs)?;
            let waiting = LinkInbox::deliver_to(&inbox, Arc::clone(&core), app.handle().clone());
            for link in link.iter().chain(&waiting) {
                open_link(app.handle(), &core, link);
            }
            app.manage(core);
            open_main_window(app)?;
            Ok(())
        })
        .on_window_event(|window, event| {
            // The video drawn over the window goes before the window.
            #[cfg(target_os = "linux")]
            if let tauri::WindowEvent::Destroyed = event {
                native_video::stop();
            }
            // The close button or Alt+F4 mid-meeting asks first.
            if let tauri::WindowEvent::CloseRequested { api, .. } = event {
                let keep = window
                    .try_state::<Arc<AppCore>>()
                    .is_some_and(|core| !core.window_may_close());
                if keep {
                    api.prevent_close();
                }
            }
        })
        .build(tauri::generate_context!());
    let app = match app {
        Ok(app) => app,
        Err(e) => {
            eprintln!("error: TalkLine could not start: {e}");
            std::process::exit(1);
        }
    };
    app.run(move |handle, event| match event {
        // macOS and iOS hand links to the running app as events.
        #[cfg(any(target_os = "macos", target_os = "ios"))]
        tauri::RunEvent::Opened { urls } => {
            if let Some(core) = handle.try_state::<Arc<AppCore>>() {
                for url in urls {
                    open_link(handle, &core, url.as_str());
                }
            }
        }
        tauri::RunEvent::ExitRequested { .. } => {
            // Leave the meeting (a goodbye to the server) and release the
            // camera and microphone before the process ends.
            if let Some(core) = handle.try_state::<Arc<AppCore>>() {
                let core = Arc::clone(&core);
                tauri::async_runtime::block_on(core.shutdown());
            }
        }
        tauri::RunEvent::Exit => {
            // The next start is the first again.
            #[cfg(all(unix, desktop))]
            if let Some(release) = &release {
                release.release();
            }
            // After a withdrawal the webview may have written its last
            // state since the files were deleted: delete once more, once
            // its helper processes can no longer write.
            if let Some(core) = handle.try_state::<Arc<AppCore>>()
                && core.withdrawn()
            {
                #[cfg(target_os = "linux")]
                {
                    let started = std::time::Instant::now();
                    let end = webview_helpers::stop_all();
                    // To stderr only: the logs are deleted by now.
                    eprintln!(
                        "withdrawal: the webview's helper processes: {end:?} after {} ms",
                        started.elapsed().as_millis()
                    );
                }
                if let Err(e) = core.delete_remaining_files() {
                    eprintln!("error: {e}");
                }
            }
        }
        _ => {}
    });
}
