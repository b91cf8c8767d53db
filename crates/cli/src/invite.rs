//! `talkline invite`: a meeting's invitation to pass on, the canonical link
//! and the same link as a QR code (in the terminal, and as a picture with
//! `--png`) that `talkline join --qr` and the app's scanner read.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use talkline_meeting::invite::QUIET_ZONE;
use talkline_meeting::{MeetingLink, MeetingQrCode, ServerUrl};

use crate::said::{said, say};
use crate::{DEFAULT_SERVER, usage_error};

/// Pixels a module of the `--png` picture: a phone reads it off a screen
/// or a printout at arm's length.
const PNG_SCALE: usize = 8;

#[derive(Parser)]
pub struct InviteArgs {
    /// talkline://join?server=…&room=…[&pin=…], or a numeric meeting ID
    link: String,
    /// Meeting server for a bare meeting ID.
    #[arg(long, default_value = DEFAULT_SERVER)]
    server: String,
    /// Meeting PIN (overrides one in the link).
    #[arg(long)]
    pin: Option<String>,
    /// Also write the QR code as a PNG picture to this file.
    #[arg(long, value_name = "FILE")]
    png: Option<PathBuf>,
}

pub fn invite(args: &InviteArgs) -> ExitCode {
    let link = match MeetingLink::parse(&args.link) {
        Ok(link) => link,
        // Not the input: a broken link may still hold its PIN.
        Err(e) => {
            let e = said(&e);
            return usage_error(say!(
                "not a meeting link or ID: {e}",
                "不是会议链接或会议号：{e}"
            ));
        }
    };
    let server = match link.server.clone() {
        Some(server) => server,
        None => match ServerUrl::parse(&args.server) {
            Ok(server) => server,
            Err(e) => {
                let (server, e) = (&args.server, said(&e));
                return usage_error(say!("--server {server:?}: {e}", "--server {server:?}：{e}"));
            }
        },
    };
    let link = MeetingLink {
        server: Some(server),
        ..link
    };
    let link = match args.pin.as_deref() {
        Some(pin) => match link.with_pin(pin) {
            Ok(link) => link,
            Err(e) => {
                let e = said(&e);
                return usage_error(say!("--pin: {e}", "--pin：{e}"));
            }
        },
        None => link,
    };
    let code = match MeetingQrCode::of(&link) {
        Ok(code) => code,
        Err(e) => return usage_error(said(&e)),
    };
    if let Some(path) = &args.png {
        let written = code
            .to_png(PNG_SCALE)
            .and_then(|png| std::fs::write(path, png).map_err(|e| e.to_string()));
        if let Err(e) = written {
            let path = path.display();
            return usage_error(say!("cannot write {path}: {e}", "无法写入 {path}：{e}"));
        }
    }
    println!("{link}");
    print!("{}", as_text(&code));
    if let Some(path) = &args.png {
        let path = path.display();
        println!(
            "{}",
            say!("QR code written to {path}", "二维码已写入 {path}")
        );
    }
    ExitCode::SUCCESS
}

/// The code in half blocks, two module rows a line, with its quiet zone.
/// Light modules are drawn: on a terminal's dark background the code then
/// reads as dark modules on light, as a scanner expects.
fn as_text(code: &MeetingQrCode) -> String {
    let side = code.width() + 2 * QUIET_ZONE;
    let light = |x: usize, y: usize| {
        let module = |v: usize| v.checked_sub(QUIET_ZONE);
        !matches!((module(x), module(y)), (Some(mx), Some(my)) if code.is_dark(mx, my))
    };
    let mut out = String::new();
    for y in (0..side).step_by(2) {
        for x in 0..side {
            out.push(match (light(x, y), y + 1 < side && light(x, y + 1)) {
                (true, true) => '█',
                (true, false) => '▀',
                (false, true) => '▄',
                (false, false) => ' ',
            });
        }
        out.push('\n');
    }
    out
}
