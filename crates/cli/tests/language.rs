//! The CLI speaks the system's language: Simplified Chinese under a
//! Chinese locale (its messages, the core's errors, its help and usage
//! errors), English otherwise; exit codes are the same in both.

use std::net::TcpListener;
use std::process::Command;

/// Runs `talkline ARGS` under `locale`; (exit code, stdout, stderr).
fn talkline(locale: &[(&str, &str)], args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_talkline"))
        .env_remove("LC_ALL")
        .env_remove("LC_MESSAGES")
        .env_remove("LANGUAGE")
        .env_remove("LANG")
        .envs(locale.iter().copied())
        .args(args)
        .output()
        .expect("run talkline");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

const CHINESE: &[(&str, &str)] = &[("LANG", "zh_CN.UTF-8")];
const ENGLISH: &[(&str, &str)] = &[("LANG", "en_GB.UTF-8")];

fn closed_server() -> String {
    let port = TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    format!("ws://127.0.0.1:{port}")
}

#[test]
fn a_broken_link_is_said_in_the_systems_language() {
    let args = ["join", "talkline://join?room=1", "--name", "Kim"];
    let (code, _, err) = talkline(CHINESE, &args);
    assert_eq!(code, 2, "{err}");
    assert_eq!(err.trim(), "错误：链接缺少服务器（server）");

    let (code, _, err) = talkline(ENGLISH, &args);
    assert_eq!(code, 2, "{err}");
    assert_eq!(err.trim(), "error: the link has no server");

    // No locale at all, or the C locale: English.
    let (_, _, err) = talkline(&[], &args);
    assert_eq!(err.trim(), "error: the link has no server");
    let (_, _, err) = talkline(&[("LANGUAGE", "zh_CN"), ("LANG", "C.UTF-8")], &args);
    assert_eq!(err.trim(), "error: the link has no server");
    // LC_ALL over LANG, as gettext reads them.
    let (_, _, err) = talkline(&[("LC_ALL", "zh_CN.UTF-8"), ("LANG", "en_US.UTF-8")], &args);
    assert!(err.starts_with("错误："), "{err}");
}

#[test]
fn an_unreachable_server_and_bad_options_are_said_in_chinese() {
    let server = closed_server();
    let link = format!("talkline://join?server={server}&room=1234");
    let (code, _, err) = talkline(
        CHINESE,
        &[
            "join", &link, "--name", "Kim", "--camera", "none", "--mic", "none",
        ],
    );
    assert_eq!(code, 3, "{err}");
    assert!(
        err.starts_with(&format!("错误：无法连接会议服务器 {server}")),
        "{err}"
    );

    let (code, _, err) = talkline(CHINESE, &["join", "1234", "--name", "Kim", "--camera", "x"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.starts_with("错误：摄像头 \"x\"：应为 test"), "{err}");

    let (code, _, err) = talkline(CHINESE, &["join", "1234", "--name", " "]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("--name 必须是 1 到 64 个可打印字符"), "{err}");
}

#[test]
fn help_and_usage_errors_are_said_in_chinese() {
    let (code, out, _) = talkline(CHINESE, &["--help"]);
    assert_eq!(code, 0);
    assert!(out.contains("用法：talkline"), "{out}");
    assert!(out.contains("按链接、会议号或二维码加入会议"), "{out}");

    let (code, out, _) = talkline(CHINESE, &["help", "join"]);
    assert_eq!(code, 0);
    assert!(out.contains("其他人看到的您的名字"), "{out}");
    assert!(out.contains("（默认：ws://127.0.0.1:8188）"), "{out}");

    // A usage error: the same exit code as clap's, in Chinese.
    let (code, _, err) = talkline(CHINESE, &["join", "1234"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.starts_with("错误：缺少必需的参数：--name"), "{err}");
    let (code, _, err) = talkline(ENGLISH, &["join", "1234"]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("the following required arguments were not provided"),
        "{err}"
    );

    let (code, out, _) = talkline(ENGLISH, &["--help"]);
    assert_eq!(code, 0);
    assert!(
        out.contains("Joins a meeting by link, meeting ID or QR code"),
        "{out}"
    );
}

#[test]
fn an_invitation_is_printed_in_chinese() {
    let png = std::env::temp_dir().join(format!("talkline-invite-{}.png", std::process::id()));
    let png_arg = png.display().to_string();
    let (code, out, err) = talkline(
        CHINESE,
        &[
            "invite",
            "talkline://join?server=wss://meet.example&room=77",
            "--png",
            &png_arg,
        ],
    );
    let _ = std::fs::remove_file(&png);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.starts_with("talkline://join?server=wss://meet.example&room=77\n"),
        "{out}"
    );
    assert!(
        out.trim_end().ends_with(&format!("二维码已写入 {png_arg}")),
        "{out}"
    );
}
