//! The permission data says exactly what Appendix II of the privacy policy
//! says, and the generated platform files say exactly what the data says.

use std::path::{Path, PathBuf};

use talkline_privacy::PermissionRegistry;
use talkline_privacy::generate;

fn repo() -> PathBuf {
    // Read when run, not when built: the build cache is shared between checkouts
    // in different folders, and a binary built in one must not read another's files.
    std::env::var_os("CARGO_MANIFEST_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).to_path_buf())
        .join("../..")
}

/// Appendix II as the policy prints it (kept verbatim in permissions/).
fn appendix_lines() -> Vec<String> {
    std::fs::read_to_string(repo().join("permissions/appendix-ii.txt"))
        .expect("permissions/appendix-ii.txt")
        .lines()
        .map(str::to_string)
        .collect()
}

#[test]
fn data_has_exactly_the_appendix_entries_as_spelled() {
    let reg = PermissionRegistry::builtin().expect("valid data");
    let lines = appendix_lines();
    let ios_at = lines
        .iter()
        .position(|l| l.starts_with("IOS Permission"))
        .expect("iOS table");
    let android_at = lines
        .iter()
        .position(|l| l.starts_with("Android Permission"))
        .expect("Android table");
    let ios_lines: Vec<&String> = lines[ios_at + 1..android_at]
        .iter()
        .filter(|l| !l.trim().is_empty())
        .collect();
    let android_lines: Vec<&String> = lines[android_at + 1..]
        .iter()
        .filter(|l| !l.trim().is_empty())
        .collect();
    assert_eq!(
        (ios_lines.len(), android_lines.len()),
        (7, 40),
        "Appendix II has 7 iOS keys and 40 Android entries"
    );
    assert_eq!(reg.ios.len(), ios_lines.len());
    assert_eq!(reg.android.len(), android_lines.len());
    for (e, line) in reg.ios.iter().zip(&ios_lines) {
        assert_eq!(&format!("{} {} {}", e.key, e.description, e.purpose), *line);
    }
    for (e, line) in reg.android.iter().zip(&android_lines) {
        assert_eq!(
            &format!("{} {} {}", e.name, e.description, e.purpose),
            *line
        );
    }
    // Spelled as in the policy, even where the policy misspells.
    assert!(reg.android("RECIEVE_MCS_MESSAGE").is_some());
}

#[test]
fn minimum_necessity() {
    let reg = PermissionRegistry::builtin().expect("valid data");
    let tracking = reg.ios("NSUserTrackingUsageDescription").expect("listed");
    assert!(!tracking.requested, "TalkLine never tracks users");
    for never in [
        "READ_PHONE_STATE",
        "READ_PRIVILEGED_PHONE_STATE",
        "REQUEST_INSTALL_PACKAGES",
        "QUERY_ALL_PACKAGES",
        "ACCESS_COARSE_LOCATION",
        "ACCESS_FINE_LOCATION",
        "READ_PROFILE",
        "READ_LOGS",
        "RECIEVE_MCS_MESSAGE",
        "MIPUSH_RECEIVE",
        "JPUSH_MESSAGE",
        "PROCESS_PUSH_MSG",
    ] {
        assert!(!reg.android(never).expect("listed").requested, "{never}");
    }
    for needed in ["CAMERA", "RECORD_AUDIO", "INTERNET"] {
        assert!(reg.android(needed).expect("listed").requested, "{needed}");
    }
}

#[test]
fn appendix_copy_matches_the_policy_when_the_seeds_are_beside_the_repo() {
    let seeds = repo().join("../shared/seeds");
    let Ok(dir) = std::fs::read_dir(&seeds) else {
        eprintln!("no shared/seeds beside the repository: comparing with the policy skipped");
        return;
    };
    let policy = dir
        .filter_map(Result::ok)
        .find(|e| e.file_name().to_string_lossy().starts_with("000_"))
        .map(|e| std::fs::read_to_string(e.path()).expect("policy text"))
        .expect("the TalkLine policy (000_*) among the seeds");
    let at = policy
        .find("Appendix II: Application permission")
        .expect("Appendix II in the policy");
    let from_policy: Vec<&str> = policy[at..].lines().collect();
    let copy = appendix_lines();
    assert_eq!(
        from_policy,
        copy.iter().map(String::as_str).collect::<Vec<_>>(),
        "permissions/appendix-ii.txt drifted from the policy"
    );
}

#[test]
fn generated_files_are_in_sync_with_the_data() {
    let reg = PermissionRegistry::builtin().expect("valid data");
    let dir = repo().join("permissions/generated");
    let regenerate = std::env::var_os("TALKLINE_REGENERATE").is_some();
    for (name, text) in generate::all(&reg) {
        let path = dir.join(name);
        if regenerate {
            std::fs::create_dir_all(path.parent().unwrap_or(&dir)).expect("generated dir");
            std::fs::write(&path, &text).expect("write generated file");
        }
        let on_disk = std::fs::read_to_string(&path).unwrap_or_default();
        assert_eq!(
            on_disk, text,
            "{name} drifted from permissions/*.json: run TALKLINE_REGENERATE=1 cargo test -p talkline-privacy"
        );
    }
    // Where the iOS build reads it: the Tauri CLI merges
    // src-tauri/Info.ios.plist into the iOS project's Info.plist (the macOS
    // files are named in tauri.conf.json's bundle section instead).
    let generated_ios = std::fs::read_to_string(dir.join("Info.ios.plist")).unwrap_or_default();
    let tauri_ios = repo().join("src-tauri/Info.ios.plist");
    if regenerate {
        std::fs::write(&tauri_ios, &generated_ios).expect("write src-tauri/Info.ios.plist");
    }
    assert_eq!(
        std::fs::read_to_string(&tauri_ios).unwrap_or_default(),
        generated_ios,
        "src-tauri/Info.ios.plist drifted: run TALKLINE_REGENERATE=1 cargo test -p talkline-privacy"
    );
    let bundle =
        std::fs::read_to_string(repo().join("src-tauri/tauri.conf.json")).expect("tauri.conf.json");
    for name in [
        "Entitlements.macos.plist",
        "Info.macos.plist",
        "zh-Hans.lproj/InfoPlist.macos.strings",
    ] {
        assert!(
            bundle.contains(&format!("../permissions/generated/{name}")),
            "tauri.conf.json's macOS bundle no longer reads {name}"
        );
    }
    // Where macOS looks for a language's usage strings, and the languages
    // the app says it has.
    assert!(
        bundle.contains("\"Resources/zh-Hans.lproj/InfoPlist.strings\""),
        "the Chinese usage strings are not put in the app's Resources"
    );
    let macos = std::fs::read_to_string(dir.join("Info.macos.plist")).expect("plist");
    assert!(
        macos.contains("<key>CFBundleLocalizations</key>")
            && macos.contains("<string>zh-Hans</string>"),
        "Info.macos.plist does not declare Chinese"
    );
    // Nothing is declared that the data does not request.
    let manifest = std::fs::read_to_string(dir.join("AndroidManifest.xml")).expect("manifest");
    for line in manifest.lines().filter(|l| l.contains("android:name=")) {
        let name = line.split('"').nth(1).expect("a quoted name");
        let e = reg
            .android(name)
            .unwrap_or_else(|| panic!("{name} is declared but not in Appendix II"));
        assert!(e.requested, "{name} is declared but not requested");
    }
    let ios = std::fs::read_to_string(dir.join("Info.ios.plist")).expect("plist");
    for key in ios
        .lines()
        .filter_map(|l| l.trim().strip_prefix("<key>")?.strip_suffix("</key>"))
    {
        assert!(
            reg.ios(key).is_some_and(|e| e.requested),
            "{key} is declared but not requested"
        );
    }
}
