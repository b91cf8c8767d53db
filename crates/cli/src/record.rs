//! `talkline record-replay`: encodes a camera once into the VP8 clips a
//! load generator replays (`--camera replay:FOLDER`), so a benchmark's
//! publishers cost no encoder.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;

use crate::exit;
use crate::said::{self, say};
use crate::spec::{self, CameraSpec};

#[derive(Parser)]
pub struct RecordArgs {
    /// test | test:WxH@FPS | FILE.y4m: what to record.
    #[arg(long, default_value = "test")]
    camera: String,
    /// Seconds of video (the replay loops them).
    #[arg(long, default_value_t = 10)]
    seconds: u32,
    /// Also record half and quarter size, for a simulcasting replay.
    #[arg(long)]
    simulcast: bool,
    /// Full-size bitrate in kbit/s (half size gets a quarter, quarter size
    /// a tenth).
    #[arg(long, default_value_t = 800)]
    video_kbps: u32,
    /// The folder to write h.ivf (and m.ivf, l.ivf) into.
    #[arg(long)]
    out: PathBuf,
}

pub fn record(args: &RecordArgs) -> ExitCode {
    let camera = match spec::camera(&args.camera) {
        Ok(c @ (CameraSpec::Pattern { .. } | CameraSpec::File(_))) => c,
        Ok(_) => {
            said::error(say!(
                "record a test pattern or a .y4m file, not a device or a replay",
                "请录制测试图案或 .y4m 文件，而不是设备或回放"
            ));
            return ExitCode::from(exit::USAGE);
        }
        Err(e) => {
            said::error(e);
            return ExitCode::from(exit::USAGE);
        }
    };
    if !(1..=600).contains(&args.seconds) {
        said::error(say!(
            "--seconds must be 1 to 600",
            "--seconds 必须是 1 到 600"
        ));
        return ExitCode::from(exit::USAGE);
    }
    let mut source = match crate::open_camera(&camera) {
        Ok(Some(source)) => source,
        Ok(None) => return ExitCode::from(exit::USAGE),
        Err(e) => {
            said::error(e);
            return ExitCode::from(exit::MEDIA);
        }
    };
    match talkline_media::replay::record(
        source.as_mut(),
        &args.out,
        args.seconds,
        args.simulcast,
        args.video_kbps,
    ) {
        Ok(paths) => {
            for path in paths {
                let path = path.display();
                println!("{}", say!("wrote {path}", "已写入 {path}"));
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            said::error(said::said(&e));
            ExitCode::from(exit::MEDIA)
        }
    }
}
