//! The TalkLine app shell: a Tauri window around `talkline-client`. This
//! crate only wires: commands (commands.rs), where data lives, the default
//! server, and shutdown. The mobile entry point is `run`.

mod commands;

use std::path::PathBuf;
use std::sync::Arc;

use talkline_client::{AppCore, CoreConfig};
use talkline_meeting::ServerUrl;
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
        commands::answer_permission,
        commands::parse_meeting,
        commands::list_devices,
        commands::get_settings,
        commands::set_settings,
        commands::start_preview,
        commands::stop_preview,
        commands::join,
        commands::leave,
        commands::set_audio_muted,
        commands::set_video_muted,
        commands::switch_device,
        commands::recent_meetings,
        commands::next_frame,
        commands::subscribe_events,
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

pub fn core_for<R: Runtime>(
    app: &tauri::App<R>,
    vault: Arc<dyn KeyVault>,
) -> Result<Arc<AppCore>, String> {
    let core = AppCore::new(CoreConfig {
        data_dir: data_dir(app)?,
        default_server: default_server()?,
        vault,
    })
    .map_err(|e| e.to_string())?;
    let handle = app.handle().clone();
    core.set_exit_hook(Box::new(move || handle.exit(0)));
    Ok(core)
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

#[cfg_attr(mobile, tauri::mobile_entry_point)]
pub fn run() {
    #[cfg(target_os = "linux")]
    prefer_direct_rendering_without_gpu();
    let _ = env_logger::Builder::from_env(
        env_logger::Env::default().default_filter_or("info,tao=warn,wry=warn"),
    )
    .try_init();
    let app = with_commands(tauri::Builder::default())
        .setup(|app| {
            let core = core_for(app, Arc::new(KeyringVault::talkline()))?;
            app.manage(core);
            Ok(())
        })
        .build(tauri::generate_context!());
    let app = match app {
        Ok(app) => app,
        Err(e) => {
            eprintln!("error: TalkLine could not start: {e}");
            std::process::exit(1);
        }
    };
    app.run(|handle, event| {
        if let tauri::RunEvent::ExitRequested { .. } = event {
            // Leave the meeting (a goodbye to the server) and release the
            // camera and microphone before the process ends.
            if let Some(core) = handle.try_state::<Arc<AppCore>>() {
                let core = Arc::clone(&core);
                tauri::async_runtime::block_on(core.shutdown());
            }
        }
    });
}
