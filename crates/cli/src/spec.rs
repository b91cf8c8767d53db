//! Parsing of `--camera`, `--mic`, `--speaker`, `--background` and
//! `--beauty` values.

use std::path::PathBuf;

use crate::said::say;

#[derive(Debug, Clone, PartialEq)]
pub enum CameraSpec {
    None,
    Pattern {
        width: u32,
        height: u32,
        fps: f64,
    },
    Device(usize),
    File(PathBuf),
    /// A folder of VP8 clips encoded beforehand, sent as they are.
    Replay(PathBuf),
}

#[derive(Debug, Clone, PartialEq)]
pub enum MicSpec {
    None,
    Tone(f64),
    Default,
    File(PathBuf),
}

#[derive(Debug, Clone, PartialEq)]
pub enum SpeakerSpec {
    Null,
    Default,
    File(PathBuf),
}

/// What `--background` asks for.
#[derive(Debug, Clone, PartialEq)]
pub enum BackgroundSpec {
    None,
    /// Blur with a strength in [0, 1].
    Blur(f32),
    /// One of the built-in pictures (dusk, meadow, studio).
    Builtin(String),
    /// A PNG or JPEG file.
    Image(PathBuf),
}

pub fn background(text: &str) -> Result<BackgroundSpec, String> {
    let lower = text.to_ascii_lowercase();
    match lower.as_str() {
        "none" | "off" => return Ok(BackgroundSpec::None),
        "blur" => return Ok(BackgroundSpec::Blur(0.8)),
        _ => {}
    }
    if let Some(strength) = lower.strip_prefix("blur:") {
        return strength
            .parse::<f32>()
            .ok()
            .filter(|s| (0.0..=1.0).contains(s))
            .map(BackgroundSpec::Blur)
            .ok_or_else(|| {
                say!(
                    "background {text:?}: blur strength must be 0 to 1, e.g. blur:0.5",
                    "背景 {text:?}：模糊强度必须在 0 到 1 之间，例如 blur:0.5"
                )
            });
    }
    if talkline_media::effects::BUILTIN_BACKGROUNDS.contains(&lower.as_str()) {
        return Ok(BackgroundSpec::Builtin(lower));
    }
    if [".png", ".jpg", ".jpeg"]
        .iter()
        .any(|ext| lower.ends_with(ext))
    {
        return Ok(BackgroundSpec::Image(text.into()));
    }
    Err(say!(
        "background {text:?}: expected none, blur, blur:STRENGTH, dusk, meadow, studio, or a .png/.jpg file",
        "背景 {text:?}：应为 none、blur、blur:强度、dusk、meadow、studio，或 .png/.jpg 文件"
    ))
}

/// `--beauty`: 0 (off) to 1.
pub fn beauty(text: &str) -> Result<f32, String> {
    text.parse::<f32>()
        .ok()
        .filter(|b| (0.0..=1.0).contains(b))
        .ok_or_else(|| {
            say!(
                "beauty {text:?}: expected a number from 0 (off) to 1",
                "美颜 {text:?}：应为 0（关闭）到 1 之间的数字"
            )
        })
}

pub fn camera(text: &str) -> Result<CameraSpec, String> {
    match text {
        "none" | "off" => return Ok(CameraSpec::None),
        "test" => {
            return Ok(CameraSpec::Pattern {
                width: 640,
                height: 360,
                fps: 30.0,
            });
        }
        _ => {}
    }
    if let Some(rest) = text.strip_prefix("test:") {
        let bad = || {
            say!(
                "camera {text:?}: expected test:WIDTHxHEIGHT[@FPS], e.g. test:1280x720@30",
                "摄像头 {text:?}：应为 test:宽x高[@帧率]，例如 test:1280x720@30"
            )
        };
        let (size, fps) = rest.split_once('@').unwrap_or((rest, "30"));
        let (w, h) = size.split_once('x').ok_or_else(bad)?;
        return Ok(CameraSpec::Pattern {
            width: w.parse().map_err(|_| bad())?,
            height: h.parse().map_err(|_| bad())?,
            fps: fps.parse().map_err(|_| bad())?,
        });
    }
    if let Some(folder) = text.strip_prefix("replay:").filter(|f| !f.is_empty()) {
        return Ok(CameraSpec::Replay(folder.into()));
    }
    if let Ok(index) = text.parse::<usize>() {
        return Ok(CameraSpec::Device(index));
    }
    if text.to_ascii_lowercase().ends_with(".y4m") {
        return Ok(CameraSpec::File(text.into()));
    }
    Err(say!(
        "camera {text:?}: expected test, test:WxH@FPS, a camera index, a .y4m file, replay:FOLDER or none",
        "摄像头 {text:?}：应为 test、test:宽x高@帧率、摄像头编号、.y4m 文件、replay:文件夹 或 none"
    ))
}

pub fn mic(text: &str) -> Result<MicSpec, String> {
    match text {
        "none" | "off" => return Ok(MicSpec::None),
        "test" => return Ok(MicSpec::Tone(440.0)),
        "default" => return Ok(MicSpec::Default),
        _ => {}
    }
    if let Some(hz) = text.strip_prefix("test:") {
        return hz
            .parse::<f64>()
            .ok()
            .filter(|hz| (20.0..=20_000.0).contains(hz))
            .map(MicSpec::Tone)
            .ok_or_else(|| {
                say!(
                    "mic {text:?}: the tone must be 20 to 20000 Hz, e.g. test:440",
                    "麦克风 {text:?}：音调必须在 20 到 20000 Hz 之间，例如 test:440"
                )
            });
    }
    if text.to_ascii_lowercase().ends_with(".wav") {
        return Ok(MicSpec::File(text.into()));
    }
    Err(say!(
        "mic {text:?}: expected test, test:HZ, default, a .wav file or none",
        "麦克风 {text:?}：应为 test、test:赫兹、default、.wav 文件 或 none"
    ))
}

pub fn speaker(text: &str) -> Result<SpeakerSpec, String> {
    match text {
        "null" | "none" => Ok(SpeakerSpec::Null),
        "default" => Ok(SpeakerSpec::Default),
        t if t.to_ascii_lowercase().ends_with(".wav") => Ok(SpeakerSpec::File(t.into())),
        _ => Err(say!(
            "speaker {text:?}: expected null, default or a .wav file",
            "扬声器 {text:?}：应为 null、default 或 .wav 文件"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_rejects() {
        assert_eq!(
            camera("test:1280x720@15"),
            Ok(CameraSpec::Pattern {
                width: 1280,
                height: 720,
                fps: 15.0
            })
        );
        assert_eq!(camera("2"), Ok(CameraSpec::Device(2)));
        assert_eq!(camera("a.Y4M"), Ok(CameraSpec::File("a.Y4M".into())));
        assert_eq!(
            camera("replay:clips"),
            Ok(CameraSpec::Replay("clips".into()))
        );
        assert!(camera("replay:").is_err());
        for bad in [
            "",
            "test:",
            "test:640",
            "test:axb",
            "test:640x360@x",
            "cam",
            "-1",
        ] {
            assert!(camera(bad).is_err(), "{bad}");
        }
        assert_eq!(mic("test:1000"), Ok(MicSpec::Tone(1000.0)));
        assert_eq!(mic("test"), Ok(MicSpec::Tone(440.0)));
        for bad in ["test:5", "test:x", "mic", "test:1e9"] {
            assert!(mic(bad).is_err(), "{bad}");
        }
        assert_eq!(speaker("out.wav"), Ok(SpeakerSpec::File("out.wav".into())));
        assert_eq!(background("blur:0.25"), Ok(BackgroundSpec::Blur(0.25)));
        assert_eq!(
            background("Dusk"),
            Ok(BackgroundSpec::Builtin("dusk".into()))
        );
        assert_eq!(
            background("me.JPG"),
            Ok(BackgroundSpec::Image("me.JPG".into()))
        );
        for bad in ["blur:2", "blur:x", "blur:", "beach", "me.gif", ""] {
            assert!(background(bad).is_err(), "{bad}");
        }
        assert_eq!(beauty("0.5"), Ok(0.5));
        for bad in ["-0.1", "1.5", "x", "", "NaN"] {
            assert!(beauty(bad).is_err(), "{bad}");
        }
        assert!(speaker("loud").is_err());
    }
}
