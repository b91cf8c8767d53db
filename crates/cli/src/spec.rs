//! Parsing of `--camera`, `--mic` and `--speaker` values.

use std::path::PathBuf;

#[derive(Debug, Clone, PartialEq)]
pub enum CameraSpec {
    None,
    Pattern { width: u32, height: u32, fps: f64 },
    Device(usize),
    File(PathBuf),
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
        let bad =
            || format!("camera {text:?}: expected test:WIDTHxHEIGHT[@FPS], e.g. test:1280x720@30");
        let (size, fps) = rest.split_once('@').unwrap_or((rest, "30"));
        let (w, h) = size.split_once('x').ok_or_else(bad)?;
        return Ok(CameraSpec::Pattern {
            width: w.parse().map_err(|_| bad())?,
            height: h.parse().map_err(|_| bad())?,
            fps: fps.parse().map_err(|_| bad())?,
        });
    }
    if let Ok(index) = text.parse::<usize>() {
        return Ok(CameraSpec::Device(index));
    }
    if text.to_ascii_lowercase().ends_with(".y4m") {
        return Ok(CameraSpec::File(text.into()));
    }
    Err(format!(
        "camera {text:?}: expected test, test:WxH@FPS, a camera index, a .y4m file or none"
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
                format!("mic {text:?}: the tone must be 20 to 20000 Hz, e.g. test:440")
            });
    }
    if text.to_ascii_lowercase().ends_with(".wav") {
        return Ok(MicSpec::File(text.into()));
    }
    Err(format!(
        "mic {text:?}: expected test, test:HZ, default, a .wav file or none"
    ))
}

pub fn speaker(text: &str) -> Result<SpeakerSpec, String> {
    match text {
        "null" | "none" => Ok(SpeakerSpec::Null),
        "default" => Ok(SpeakerSpec::Default),
        t if t.to_ascii_lowercase().ends_with(".wav") => Ok(SpeakerSpec::File(t.into())),
        _ => Err(format!(
            "speaker {text:?}: expected null, default or a .wav file"
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
        assert!(speaker("loud").is_err());
    }
}
