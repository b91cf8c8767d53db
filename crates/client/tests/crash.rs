//! The app killed (SIGKILL) while it writes what it keeps: the encrypted
//! store (settings, the consent ledger), its logs, the user's backgrounds
//! and a data export. A child process (this test binary run again) does
//! one write after another and says on stdout each one it finished; the
//! test kills it at a different moment each round, then starts the core
//! again on the same files, as the next launch would, and checks that it
//! opens, that nothing acknowledged is lost, and that every file it finds
//! can be read.

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use talkline_client::core::{AppCore, CoreConfig};
use talkline_meeting::ServerUrl;
use talkline_store::{DatabaseKey, KeyVault, MemoryVault};

const CHILD_DIR: &str = "TALKLINE_CRASH_CHILD_DIR";
const CHILD_KEY: &str = "TALKLINE_CRASH_CHILD_KEY";
const CHILD_FROM: &str = "TALKLINE_CRASH_CHILD_FROM";
/// The permissions whose answers the child changes (their ids in the ledger).
const PERMISSIONS: [&str; 3] = ["camera", "microphone", "photos"];
/// Writes of a round: the child is killed long before.
const STEPS: u64 = 100_000;
const ROUNDS: u64 = 40;

/// What write `step` does, and with what value: the same in the child that
/// writes and in the test that checks.
#[derive(Debug, Clone, PartialEq)]
enum Write {
    Name(u64),
    Answer(&'static str, bool),
    Log(u64),
    Export,
    Background,
}

fn write_at(step: u64) -> Write {
    match step % 5 {
        0 => Write::Name(step),
        1 => {
            let turn = step / 5;
            let id = PERMISSIONS[(turn % PERMISSIONS.len() as u64) as usize];
            Write::Answer(id, (turn / PERMISSIONS.len() as u64).is_multiple_of(2))
        }
        2 => Write::Log(step),
        3 if step % 15 == 3 => Write::Export,
        3 => Write::Log(step),
        _ if step % 20 == 4 => Write::Background,
        _ => Write::Name(step),
    }
}

fn core_in(dir: &Path, key: &DatabaseKey) -> Arc<AppCore> {
    let vault = MemoryVault::default();
    vault.save(key).expect("the vault in memory");
    let server = ServerUrl::parse("ws://127.0.0.1:8188").expect("server");
    AppCore::new(CoreConfig::in_dir(
        dir.join("data"),
        server,
        Arc::new(vault),
    ))
    .expect("the core starts on what the killed app left")
}

fn block_on<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime")
        .block_on(f)
}

fn small_jpeg() -> Vec<u8> {
    let picture =
        image::RgbImage::from_fn(32, 24, |x, y| image::Rgb([x as u8 * 8, y as u8 * 10, 60]));
    let mut jpeg = Vec::new();
    image::DynamicImage::ImageRgb8(picture)
        .write_to(
            &mut std::io::Cursor::new(&mut jpeg),
            image::ImageFormat::Jpeg,
        )
        .expect("jpeg");
    jpeg
}

/// The child: writes until it is killed, printing each finished step.
fn child(dir: &Path, key: &DatabaseKey, from: u64) {
    use std::io::Write as _;
    let core = core_in(dir, key);
    let status = block_on(core.status());
    core.accept_policy(status.policy.version).expect("policy");
    core.set_privacy_choice("custom-backgrounds", true)
        .expect("backgrounds consent");
    let logs = talkline_client::logs::LogFiles::new(dir.join("data").join("logs"));
    logs.enable();
    let jpeg = small_jpeg();
    let mut out = std::io::stdout().lock();
    writeln!(out, "ready").expect("stdout");
    for step in from..from + STEPS {
        match write_at(step) {
            Write::Name(n) => {
                let mut settings = core.settings().expect("settings");
                settings.display_name = format!("Crash {n}");
                core.set_settings(&settings).expect("set settings");
            }
            Write::Answer(id, granted) => core.answer_permission(id, granted).expect("answer"),
            Write::Log(n) => logs
                .append(format!("log record {n}\n").as_bytes(), 1_800_000_000)
                .expect("log"),
            Write::Export => {
                core.export_personal_data().expect("export");
            }
            Write::Background => {
                core.add_background(&jpeg).expect("background");
            }
        }
        writeln!(out, "{step}").expect("stdout");
        out.flush().expect("stdout");
    }
}

#[test]
fn killed_while_writing_loses_nothing_acknowledged_and_leaves_nothing_unreadable() {
    if let (Ok(dir), Ok(key), Ok(from)) = (
        std::env::var(CHILD_DIR),
        std::env::var(CHILD_KEY),
        std::env::var(CHILD_FROM),
    ) {
        let key = DatabaseKey::from_hex(&key).expect("key");
        child(Path::new(&dir), &key, from.parse().expect("from"));
        return;
    }
    let dir =
        PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("crash-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("scratch");
    let key = DatabaseKey::random();
    let mut checked = 0;
    for round in 0..ROUNDS {
        let from = round * STEPS;
        let mut child = spawn(&dir, &key, from);
        let mut lines = BufReader::new(child.stdout.take().expect("stdout"));
        // The test harness speaks first ("running 1 test", and the test's
        // name on the line our first one ends).
        let mut line = String::new();
        while !line.trim().ends_with("ready") {
            line.clear();
            let read = lines.read_line(&mut line).expect("the child's stdout");
            assert!(read > 0, "the child did not start");
        }
        // Killed after a different number of writes each round, and a
        // different time into the next one.
        let steps = 3 + (round * 37) % 60;
        for _ in 0..steps {
            line.clear();
            let read = lines.read_line(&mut line).expect("a step");
            assert!(read > 0, "the child stopped before it was killed");
        }
        std::thread::sleep(Duration::from_micros((round * 1_733) % 4_000));
        kill(&mut child);
        // What it said before it died, including what the pipe still holds.
        let mut rest = String::new();
        lines.read_to_string(&mut rest).expect("the rest of stdout");
        let last = rest
            .lines()
            .chain(std::iter::once(line.trim()))
            .filter_map(|l| l.trim().parse::<u64>().ok())
            .max()
            .expect("at least one step acknowledged");
        check(&dir, &key, from, last);
        checked += last + 1 - from;
    }
    assert!(checked > ROUNDS * 3, "{checked} writes checked");
    let _ = std::fs::remove_dir_all(&dir);
}

/// Kills `child` and checks that the kill is what ended it: a child that
/// failed on its own would stop acknowledging, and its round would check
/// nothing written under a kill.
fn kill(child: &mut Child) {
    use std::os::unix::process::ExitStatusExt;
    child.kill().expect("SIGKILL");
    let status = child.wait().expect("reaped");
    assert_eq!(
        status.signal(),
        Some(9),
        "the child ended before the kill: {status}"
    );
}

/// The first start creates the database (its schema, then the accepted
/// policy and the first answers). Each round kills it a little later after
/// the database file appears; the key is already in the vault (the real
/// first start saves it before it creates the file).
#[test]
fn killed_during_its_first_start_the_next_start_opens_a_working_store() {
    let base = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("crash-first-{}", std::process::id()));
    let mut mid_start = 0;
    for round in 0..16u64 {
        let dir = base.join(round.to_string());
        std::fs::create_dir_all(&dir).expect("scratch");
        let key = DatabaseKey::random();
        let database = dir.join("data").join("talkline.db");
        let mut child = spawn(&dir, &key, 0);
        if round > 0 {
            let deadline = std::time::Instant::now() + Duration::from_secs(10);
            while !database.exists() {
                assert!(
                    std::time::Instant::now() < deadline,
                    "no database after 10 s"
                );
                std::thread::sleep(Duration::from_micros(100));
            }
            std::thread::sleep(Duration::from_micros((round - 1) * 300));
        }
        kill(&mut child);
        let mut said = String::new();
        let _ = child
            .stdout
            .take()
            .map(|mut out| out.read_to_string(&mut said));
        let ready = said.lines().any(|l| l.trim().ends_with("ready"));
        if database.exists() && !ready {
            mid_start += 1;
        }
        let core = core_in(&dir, &key);
        let status = block_on(core.status());
        assert_eq!(status.store_error, None, "round {round}: the store opens");
        if !status.policy.accepted {
            core.accept_policy(status.policy.version).expect("policy");
        }
        let mut settings = core.settings().expect("settings");
        settings.display_name = "After the crash".into();
        core.set_settings(&settings)
            .expect("the store takes writes");
        assert_eq!(
            core.settings().expect("settings").display_name,
            "After the crash"
        );
    }
    assert!(
        mid_start >= 3,
        "only {mid_start} of 16 kills came while the first start was writing the store"
    );
    let _ = std::fs::remove_dir_all(&base);
}

fn spawn(dir: &Path, key: &DatabaseKey, from: u64) -> Child {
    Command::new(std::env::current_exe().expect("this test binary"))
        .args([
            "--exact",
            "killed_while_writing_loses_nothing_acknowledged_and_leaves_nothing_unreadable",
            "--nocapture",
        ])
        .env(CHILD_DIR, dir)
        .env(CHILD_KEY, key.to_hex())
        .env(CHILD_FROM, from.to_string())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("the child")
}

/// After the kill: `last` is the last step the child finished; the one
/// after it may or may not have happened.
fn check(dir: &Path, key: &DatabaseKey, from: u64, last: u64) {
    let in_flight = last + 1;
    let core = core_in(dir, key);
    let status = block_on(core.status());
    assert_eq!(status.store_error, None, "the store opens");
    assert!(
        status.policy.accepted,
        "the accepted policy is still accepted"
    );

    // The newest name acknowledged, or the one being written.
    let name = core.settings().expect("settings").display_name;
    let newest = (from..=last).rev().find_map(|s| match write_at(s) {
        Write::Name(n) => Some(n),
        _ => None,
    });
    let mut allowed: Vec<String> = newest.iter().map(|n| format!("Crash {n}")).collect();
    if let Write::Name(n) = write_at(in_flight) {
        allowed.push(format!("Crash {n}"));
    }
    if newest.is_some() {
        assert!(
            allowed.contains(&name),
            "name {name:?}, expected one of {allowed:?}"
        );
    }

    // Each permission's answer: its last acknowledged one (unless it is the
    // one being written when the child died).
    let choices = core.privacy_choices().expect("choices");
    for id in PERMISSIONS {
        if matches!(write_at(in_flight), Write::Answer(i, _) if i == id) {
            continue;
        }
        let answered = (from..=last).rev().find_map(|s| match write_at(s) {
            Write::Answer(i, granted) if i == id => Some(granted),
            _ => None,
        });
        if let Some(granted) = answered {
            let now = choices.iter().find(|c| c.id == id).and_then(|c| c.granted);
            assert_eq!(now, Some(granted), "{id} after step {last}");
        }
    }

    // Every log record acknowledged is in the files.
    let logs: String = std::fs::read_dir(dir.join("data").join("logs"))
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .map(|e| std::fs::read_to_string(e.path()).unwrap_or_default())
                .collect()
        })
        .unwrap_or_default();
    for step in from..=last {
        if let Write::Log(n) = write_at(step) {
            assert!(
                logs.contains(&format!("log record {n}\n")),
                "log record {n} lost"
            );
        }
    }

    // Every export there is whole JSON; every background there loads.
    let exports = dir.join("exports");
    for entry in std::fs::read_dir(&exports)
        .into_iter()
        .flatten()
        .filter_map(Result::ok)
    {
        let name = entry.file_name().to_string_lossy().into_owned();
        // A half-written export is personal data too: the next start removes it.
        assert!(!name.ends_with(".partial"), "{name} left behind");
        if name.ends_with(".json") {
            let text = std::fs::read(entry.path()).expect("export");
            serde_json::from_slice::<serde_json::Value>(&text)
                .unwrap_or_else(|e| panic!("{name} is not whole: {e}"));
        }
    }
    for option in core.background_options().expect("backgrounds") {
        if let Some(photo) = option.id.strip_prefix("photo:") {
            let bytes = std::fs::read(core.backgrounds_dir().join(photo)).expect("photo");
            talkline_media::effects::load_background(&bytes)
                .unwrap_or_else(|e| panic!("background {photo} cannot be read: {e}"));
        }
    }
}
