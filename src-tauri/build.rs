// Declares the app's commands so Tauri generates one `allow-<command>`
// permission each; capabilities/main.json grants exactly these.
const COMMANDS: &[&str] = &[
    "app_status",
    "accept_policy",
    "decline_policy",
    "close_request_answered",
    "quit",
    "meeting_invitation",
    "parse_meeting",
    "list_devices",
    "get_settings",
    "set_settings",
    "start_preview",
    "stop_preview",
    "join",
    "leave",
    "set_audio_muted",
    "set_participant_volume",
    "set_video_layer",
    "set_original_sound",
    "set_video_muted",
    "switch_device",
    "test_speaker",
    "recent_meetings",
    "next_frame",
    "next_encoded",
    "video_socket",
    "subscribe_events",
    "personal_data",
    "export_personal_data",
    "delete_history",
    "clear_cache",
    "privacy_choices",
    "set_privacy_choice",
    "withdraw_consent",
    "upload_logs",
    "get_effects",
    "set_effects",
    "background_options",
    "add_background",
    "start_scan",
    "stop_scan",
    "scan_qr_image",
    "schedule_meeting",
    "upcoming_meetings",
    "delete_schedule",
    "add_to_calendar",
    "open_system_settings",
];

fn main() {
    tauri_build::try_build(
        tauri_build::Attributes::new()
            .app_manifest(tauri_build::AppManifest::new().commands(COMMANDS)),
    )
    .expect("tauri build configuration");
}
