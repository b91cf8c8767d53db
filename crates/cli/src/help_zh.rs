//! The command line's help and usage errors in Simplified Chinese. clap
//! writes its own words (headings, the help flag, its errors) in English:
//! here the command is given Chinese texts, a template and a help flag of
//! its own, and usage errors are said from their kind and context.

use clap::error::{ContextKind, ErrorKind};
use clap::{Arg, ArgAction, Command};

const ABOUT: &str = "TalkLine 会议客户端（无界面）";

/// Each subcommand's one-line description.
const SUBCOMMANDS: &[(&str, &str)] = &[
    ("devices", "列出摄像头、麦克风和扬声器"),
    ("join", "按链接、会议号或二维码加入会议"),
    (
        "host",
        "在 --server 上开一个新会议并主持它：打印给来宾的链接（主持人密钥只留在本次运行中）。在标准输入中可用：mute、ask-unmute、stop-video、ask-video 或 remove 名字；lock、unlock、end",
    ),
    ("invite", "打印会议邀请：链接，以及链接的二维码"),
    (
        "record-replay",
        "把测试图案（或 Y4M 文件）编码为 VP8 片段，供负载生成器用 --camera replay:文件夹 回放",
    ),
];

/// (subcommand, argument, help): every argument's help. `host` takes
/// `join`'s for the arguments they share, unless it has its own here.
const ARGUMENTS: &[(&str, &str, &str)] = &[
    (
        "join",
        "link",
        "talkline://join?server=…&room=…[&pin=…]，或数字会议号",
    ),
    (
        "join",
        "qr",
        "加入二维码中的会议：一张图片（PNG、JPEG），或对着二维码的摄像头录像（Y4M）",
    ),
    ("join", "name", "其他人看到的您的名字"),
    ("join", "server", "只给会议号时使用的会议服务器"),
    ("join", "pin", "会议密码（优先于链接中的密码）"),
    ("host", "server", "在哪个会议服务器上开会议"),
    ("host", "pin", "来宾加入时要给出的会议密码"),
    (
        "host",
        "waiting_room",
        "来宾先在等候室等候，由您让其进入（admit 名字|all、refuse 名字）",
    ),
    (
        "join",
        "camera",
        "test | test:宽x高@帧率 | 摄像头编号 | 文件.y4m | replay:文件夹 | none（回放是事先用 record-replay 录制的 VP8，原样发送：不占用编码器的负载生成器）",
    ),
    (
        "join",
        "mic",
        "test | test:赫兹 | default | 文件.wav | none",
    ),
    ("join", "speaker", "null | default | 文件.wav"),
    ("join", "duration", "这么多秒后离开（否则按 Ctrl-C 离开）"),
    ("join", "stats_json", "退出时把通话统计以 JSON 写入此文件"),
    ("join", "video_kbps", "视频码率，单位 kbit/s"),
    ("join", "muted", "加入时麦克风静音"),
    ("join", "camera_off", "加入时关闭摄像头"),
    (
        "join",
        "publish_only",
        "只发送：不接收任何人的音视频（机器人、负载生成器）。仍会报告参会者的加入和离开",
    ),
    (
        "join",
        "original_sound",
        "原样发送麦克风声音：不做回声消除、降噪和增益控制（音乐；自带处理的耳机）",
    ),
    (
        "join",
        "background",
        "none | blur | blur:强度 | dusk | meadow | studio | 文件.png/.jpg（仅在本设备上计算）",
    ),
    (
        "join",
        "beauty",
        "磨皮和提亮，0（关闭）到 1（仅在本设备上计算）",
    ),
    (
        "join",
        "ice_servers",
        "STUN 或 TURN 服务器（stun:主机[:端口]、turn:主机[:端口]），最多四个；链接中没有时使用",
    ),
    ("join", "ice_username", "TURN 服务器的用户名"),
    ("join", "ice_credential", "TURN 服务器的凭据"),
    (
        "join",
        "relay_only",
        "只通过 TURN 中继发送媒体：服务器和其他参会者都看不到本设备的地址",
    ),
    (
        "join",
        "video_layer",
        "low | medium | high | paused：接收同播参会者视频的哪一层（四分之一、一半或完整尺寸）",
    ),
    (
        "join",
        "no_chat",
        "不加入会议聊天（除非用了 --publish-only，否则都会加入）",
    ),
    (
        "join",
        "share_screen",
        "加入后共享屏幕：test、test:宽x高@帧率、.y4m 文件、x11[:显示器]、window:窗口号|标题（一个窗口；在标准输入中用 windows 列出窗口）或 portal（Wayland：由桌面自己的选择器决定），后接 +sound 同时共享电脑的声音（用 share 来源 和 share stop 随时开始和停止）",
    ),
    (
        "join",
        "record",
        "从一开始就在本设备上录制会议，保存为文件夹 FOLDER 中的 WebM 文件（通话中可在标准输入用 record 文件夹 和 record stop 开始和停止）",
    ),
    (
        "join",
        "simulcast",
        "同时以完整、一半和四分之一尺寸发送视频（同播），让每位参会者接收其画面所需的尺寸",
    ),
    (
        "invite",
        "link",
        "talkline://join?server=…&room=…[&pin=…]，或数字会议号",
    ),
    ("invite", "server", "只给会议号时使用的会议服务器"),
    ("invite", "pin", "会议密码（优先于链接中的密码）"),
    ("invite", "png", "同时把二维码以 PNG 图片写入此文件"),
    (
        "record-replay",
        "camera",
        "test | test:宽x高@帧率 | 文件.y4m：要录制的内容",
    ),
    ("record-replay", "seconds", "视频秒数（回放时循环播放）"),
    (
        "record-replay",
        "simulcast",
        "同时录制一半和四分之一尺寸，供同播回放",
    ),
    (
        "record-replay",
        "video_kbps",
        "完整尺寸的码率，单位 kbit/s（一半尺寸用四分之一，四分之一尺寸用十分之一）",
    ),
    (
        "record-replay",
        "out",
        "写入 h.ivf（以及 m.ivf、l.ivf）的文件夹",
    ),
];

/// The command, its help in Chinese.
pub fn in_chinese(command: Command) -> Command {
    let top = chinese_frame(command.about(ABOUT))
        .disable_version_flag(true)
        .arg(
            Arg::new("version")
                .short('V')
                .long("version")
                .action(ArgAction::Version)
                .help("显示版本")
                .help_heading("选项"),
        )
        .disable_help_subcommand(true)
        .subcommand(
            Command::new("help")
                .about("显示本帮助，或某个子命令的帮助")
                .arg(Arg::new("command").help("子命令").help_heading("参数")),
        );
    top.mut_subcommands(|sub| {
        let name = sub.get_name().to_string();
        let about = SUBCOMMANDS
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, about)| *about);
        let sub = match about {
            Some(about) => sub.about(about),
            None => sub,
        };
        chinese_frame(sub).mut_args(|arg| {
            let id = arg.get_id().as_str();
            let help_of = |sub: &str| {
                ARGUMENTS
                    .iter()
                    .find(|(n, i, _)| *n == sub && *i == id)
                    .map(|(_, _, help)| *help)
            };
            let help =
                help_of(&name).or_else(|| (name == "host").then(|| help_of("join")).flatten());
            let Some(help) = help else { return arg };
            // A flag's default ("false") goes without saying.
            if !arg.get_action().takes_values() || arg.get_default_values().is_empty() {
                return arg.help(help);
            }
            let defaults: Vec<String> = arg
                .get_default_values()
                .iter()
                .map(|v| v.to_string_lossy().into_owned())
                .collect();
            let help = format!("{help}（默认：{}）", defaults.join("、"));
            arg.help(help).hide_default_value(true)
        })
    })
}

/// Headings, the usage line and the help flag in Chinese.
fn chinese_frame(command: Command) -> Command {
    command
        .help_template("{about-with-newline}\n用法：{usage}\n\n{all-args}{after-help}")
        .subcommand_help_heading("命令")
        .mut_args(|arg| {
            let heading = if arg.is_positional() {
                "参数"
            } else {
                "选项"
            };
            arg.help_heading(heading)
        })
        .disable_help_flag(true)
        .arg(
            Arg::new("help")
                .short('h')
                .long("help")
                .action(ArgAction::Help)
                .help("显示帮助")
                .help_heading("选项"),
        )
}

/// A usage error said in Chinese: what is wrong, with what, and where
/// to look.
pub fn usage_error(error: &clap::Error) -> String {
    let what = match error.kind() {
        ErrorKind::MissingRequiredArgument => "缺少必需的参数",
        ErrorKind::UnknownArgument => "无法识别的参数",
        ErrorKind::InvalidSubcommand => "无法识别的子命令",
        ErrorKind::InvalidValue | ErrorKind::ValueValidation => "参数的值无效",
        ErrorKind::ArgumentConflict => "这些参数不能同时使用",
        ErrorKind::TooManyValues | ErrorKind::TooFewValues | ErrorKind::WrongNumberOfValues => {
            "参数的值的个数不对"
        }
        ErrorKind::NoEquals => "参数的值需要用 = 给出",
        ErrorKind::MissingSubcommand => "缺少子命令",
        _ => "命令行有误",
    };
    let mut said = format!("错误：{what}");
    for kind in [
        ContextKind::InvalidArg,
        ContextKind::InvalidSubcommand,
        ContextKind::InvalidValue,
    ] {
        if let Some(value) = error.get(kind) {
            said.push_str(&format!("：{value}"));
        }
    }
    said.push_str("\n\n运行 talkline --help 查看用法");
    said
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::*;

    /// Words that stay as they are: names, values and formats the user
    /// types.
    const KEPT: &[&str] = &[
        "TalkLine", "talkline", "join", "server", "room", "pin", "test", "none", "blur", "dusk",
        "meadow", "studio", "default", "null", "replay", "low", "medium", "high", "paused", "stun",
        "turn", "STUN", "TURN", "JSON", "PNG", "JPEG", "Y4M", "VP8", "y4m", "wav", "png", "jpg",
        "ivf", "kbit", "Ctrl", "record", "COMMAND", "OPTIONS", "help", "version", "devices",
        "invite", "share", "stop", "window", "windows", "sound", "portal", "Wayland", "host",
        "mute", "ask", "unmute", "video", "remove", "lock", "unlock", "end", "admit", "all",
        "refuse", "WebM",
    ];

    #[test]
    fn both_command_lines_are_well_formed() {
        crate::Cli::command().debug_assert();
        in_chinese(crate::Cli::command()).debug_assert();
    }

    #[test]
    fn every_argument_is_explained_in_chinese() {
        let mut command = in_chinese(crate::Cli::command());
        command.build();
        for (sub, id, _) in ARGUMENTS {
            let found = command
                .find_subcommand(sub)
                .is_some_and(|s| s.get_arguments().any(|a| a.get_id() == *id));
            assert!(found, "no argument {id} of {sub}: a stale translation");
        }
        let mut pages = vec![command.render_help().to_string()];
        for sub in command.get_subcommands_mut() {
            pages.push(sub.render_help().to_string());
        }
        for page in pages {
            for line in page.lines() {
                // Option names, placeholders and example values stay.
                let prose: String = line
                    .split_whitespace()
                    .filter(|w| !w.starts_with('-') && !w.starts_with('<') && !w.starts_with('['))
                    .collect::<Vec<_>>()
                    .join(" ");
                for word in prose.split(|c: char| !c.is_ascii_alphanumeric()) {
                    let letters = word.chars().filter(char::is_ascii_alphabetic).count();
                    assert!(
                        letters < 3
                            || KEPT.contains(&word)
                            || word.chars().all(|c| !c.is_ascii_lowercase()),
                        "English {word:?} in the Chinese help: {line:?}"
                    );
                }
            }
        }
    }

    #[test]
    fn usage_errors_are_said_in_chinese() {
        let mut command = in_chinese(crate::Cli::command());
        let error = command
            .try_get_matches_from_mut(["talkline", "join", "--name"])
            .expect_err("a usage error");
        let said = usage_error(&error);
        assert!(said.starts_with("错误："), "{said}");
        assert!(said.contains("--name"), "{said}");
        let error = command
            .try_get_matches_from_mut(["talkline", "join", "--nmae", "x", "1234"])
            .expect_err("a usage error");
        assert!(
            usage_error(&error).contains("无法识别的参数：--nmae"),
            "{}",
            usage_error(&error)
        );
    }
}
