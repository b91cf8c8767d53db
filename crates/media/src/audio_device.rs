//! Microphone and speaker through cpal. The device callbacks only move
//! samples between the device and a lock-free ring: no locks, no allocation,
//! no blocking there. Calls run at 48 kHz, so the device is opened at 48 kHz
//! (every desktop audio server offers it) and channels are mixed or copied.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use cpal::traits::{DeviceTrait, HostTrait, StreamTrait};

use crate::devices::DeviceKey;
use crate::error::{MediaError, Result};
use crate::frame::{AUDIO_FRAME_SAMPLES, AUDIO_RATE_HZ, AudioFrame};
use crate::ring::{RingConsumer, RingProducer, sample_ring};
use crate::source::AudioSource;
use crate::voice_processing::{EchoReference, EchoTap, EchoTapSlot};

/// Two seconds of slack between a device and its consumer.
const RING_SAMPLES: usize = AUDIO_RATE_HZ as usize * 2;
/// The first capture callback can take ~1.5 s after the stream starts, and
/// a device's first moments can stall as long: a Bluetooth headset takes
/// seconds to start streaming, a PulseAudio null sink renders its first
/// two-second block before it heeds a stream's low latency.
const FIRST_AUDIO_TIMEOUT: Duration = Duration::from_secs(5);
/// A speaker has started once it asked for this much audio (200 ms); only
/// then does `STALL_TIMEOUT` apply.
const STARTED_FRAMES: u64 = AUDIO_RATE_HZ as u64 / 5;
/// A live stream that goes quiet this long has lost its device.
const STALL_TIMEOUT: Duration = Duration::from_secs(2);

fn pick_device(input: bool, key: Option<&DeviceKey>) -> Result<cpal::Device> {
    let host = cpal::default_host();
    let what = if input { "microphone" } else { "speaker" };
    let Some(key) = key else {
        let default = if input {
            host.default_input_device()
        } else {
            host.default_output_device()
        };
        return default.ok_or_else(|| {
            MediaError::NoAudioDevice(format!("no {what} found (see `talkline devices`)"))
        });
    };
    // One listing, searched by name: the device opened is the one named,
    // wherever it is in the list now.
    let devices: Vec<cpal::Device> = if input {
        host.input_devices().map(Iterator::collect)
    } else {
        host.output_devices().map(Iterator::collect)
    }
    .map_err(|e| MediaError::AudioDevice(e.to_string()))?;
    let names: Vec<String> = devices.iter().map(ToString::to_string).collect();
    key.position_in(&names)
        .and_then(|i| devices.into_iter().nth(i))
        .ok_or_else(|| {
            MediaError::NoAudioDevice(format!(
                "the {what} {:?} is not connected (unplugged?)",
                key.name()
            ))
        })
}

fn config_48k(device: &cpal::Device, input: bool) -> Result<cpal::StreamConfig> {
    let default = if input {
        device.default_input_config()
    } else {
        device.default_output_config()
    }
    .map_err(|e| MediaError::AudioDevice(e.to_string()))?;
    // A size the device does not offer would fail the stream: then the
    // host's own choice.
    let buffer_size = match (buffer_size(device), default.buffer_size()) {
        (cpal::BufferSize::Fixed(n), cpal::SupportedBufferSize::Range { min, max })
            if (*min..=*max).contains(&n) =>
        {
            cpal::BufferSize::Fixed(n)
        }
        _ => cpal::BufferSize::Default,
    };
    Ok(cpal::StreamConfig {
        channels: default.channels().max(1),
        sample_rate: AUDIO_RATE_HZ,
        buffer_size,
    })
}

/// ALSA's and the other hosts' own choice is a few periods of some 10 ms.
/// PulseAudio's, asked for nothing, is a two-second playback buffer: all
/// of it would be delay. 20 ms periods (40 ms in all for playback) leave
/// room for a busy machine.
fn buffer_size(device: &cpal::Device) -> cpal::BufferSize {
    #[cfg(target_os = "linux")]
    if device
        .id()
        .is_ok_and(|id| id.host() == cpal::HostId::PulseAudio)
    {
        return cpal::BufferSize::Fixed(AUDIO_RATE_HZ / 50);
    }
    let _ = device;
    cpal::BufferSize::Default
}

/// A cpal stream running on a thread of its own (streams are not `Send` on
/// every platform); dropping this stops the stream and joins the thread.
struct StreamThread {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl StreamThread {
    /// Builds and starts the stream on its thread; fails if it did not start.
    fn spawn(
        name: &str,
        build: impl FnOnce() -> Result<cpal::Stream> + Send + 'static,
    ) -> Result<Self> {
        let stop = Arc::new(AtomicBool::new(false));
        let stop_thread = Arc::clone(&stop);
        let (started, result) = mpsc::channel();
        let handle = std::thread::Builder::new()
            .name(name.into())
            .spawn(move || {
                let stream = match build().and_then(|s| {
                    s.play()
                        .map_err(|e| MediaError::AudioDevice(e.to_string()))?;
                    Ok(s)
                }) {
                    Ok(s) => s,
                    Err(e) => {
                        let _ = started.send(Err(e));
                        return;
                    }
                };
                let _ = started.send(Ok(()));
                while !stop_thread.load(Ordering::Relaxed) {
                    std::thread::park_timeout(Duration::from_millis(100));
                }
                drop(stream);
            })
            .map_err(|e| MediaError::AudioDevice(e.to_string()))?;
        result
            .recv()
            .map_err(|_| MediaError::AudioDevice("audio thread ended".into()))??;
        Ok(Self {
            stop,
            thread: Some(handle),
        })
    }
}

impl Drop for StreamThread {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            t.thread().unpark();
            let _ = t.join();
        }
    }
}

/// Whether a stream error means the device is gone. Others (an xrun when
/// the device ran dry or over, a busy or rerouted device) are reported
/// while the stream goes on, and must not end a call's audio; a device that
/// vanished without saying so is caught by its stall instead.
fn device_gone(e: &cpal::Error) -> bool {
    matches!(
        e.kind(),
        cpal::ErrorKind::DeviceNotAvailable
            | cpal::ErrorKind::HostUnavailable
            | cpal::ErrorKind::StreamInvalidated
    )
}

/// What a stream's error callback saw, shared with its owner. It logs the
/// first error of a stream, not each of a flood: a dead sound server makes
/// ALSA fail every poll, tens of thousands of times a second, until the
/// stall check ends the stream. Such EIO errors also come in bursts from a
/// live PulseAudio stream, so only their kind says a device is gone.
struct StreamHealth {
    what: &'static str,
    failed: AtomicBool,
    errors: AtomicU64,
}

impl StreamHealth {
    fn new(what: &'static str) -> Arc<Self> {
        Arc::new(Self {
            what,
            failed: AtomicBool::new(false),
            errors: AtomicU64::new(0),
        })
    }

    fn on_error(&self, e: &cpal::Error) {
        if self.errors.fetch_add(1, Ordering::Relaxed) == 0 {
            log::warn!("{} error: {e}", self.what);
        }
        if device_gone(e) && !self.failed.swap(true, Ordering::Relaxed) {
            log::warn!("{} gone: {e}", self.what);
        }
    }

    fn failed(&self) -> bool {
        self.failed.load(Ordering::Relaxed)
    }
}

impl Drop for StreamHealth {
    fn drop(&mut self) {
        let errors = *self.errors.get_mut();
        if errors > 1 {
            log::info!("{} stream closed after {errors} errors", self.what);
        }
    }
}

/// The microphone (or another recording device) as an `AudioSource` of
/// 10 ms frames.
pub struct MicSource {
    ring: RingConsumer,
    _stream: StreamThread,
    health: Arc<StreamHealth>,
    delivered_any: bool,
}

impl MicSource {
    /// Opens the default microphone, or the one `key` names.
    pub fn open(key: Option<&DeviceKey>) -> Result<Self> {
        Self::record(pick_device(true, key)?, "microphone")
    }

    /// Records what the computer plays: the monitor of the default output
    /// (PulseAudio, or PipeWire through its PulseAudio server), which
    /// holds every application's sound, the meeting's included.
    pub fn open_computer_sound() -> Result<Self> {
        // A sound server asked just as a stream starts on it can answer
        // a query with nothing: asked again, a little later.
        let mut tries = 0;
        loop {
            match computer_sound_device() {
                Ok(device) => return Self::record(device, "computer's sound"),
                Err(e) if tries >= 4 => return Err(e),
                Err(e) => log::debug!("the computer's sound, not yet: {e}"),
            }
            tries += 1;
            std::thread::sleep(Duration::from_millis(250));
        }
    }

    fn record(device: cpal::Device, what: &'static str) -> Result<Self> {
        let config = config_48k(&device, true)?;
        let (producer, ring) = sample_ring(RING_SAMPLES);
        let health = StreamHealth::new(what);
        let health_error = Arc::clone(&health);
        let stream = StreamThread::spawn("talkline-mic", move || {
            let channels = config.channels as usize;
            let mut producer: RingProducer = producer;
            let mut mono = [0i16; 1024];
            device
                .build_input_stream::<f32, _, _>(
                    config,
                    move |data: &[f32], _| {
                        for chunk in data.chunks(mono.len() * channels) {
                            let frames = chunk.len() / channels;
                            for (i, frame) in chunk.chunks_exact(channels).enumerate() {
                                let sum: f32 = frame.iter().sum();
                                mono[i] =
                                    ((sum / channels as f32).clamp(-1.0, 1.0) * 32767.0) as i16;
                            }
                            // A full ring drops the newest audio rather than block.
                            producer.push(&mono[..frames]);
                        }
                    },
                    move |e| health_error.on_error(&e),
                    None,
                )
                .map_err(|e| MediaError::AudioDevice(e.to_string()))
        })?;
        Ok(Self {
            ring,
            _stream: stream,
            health,
            delivered_any: false,
        })
    }
}

/// The monitor of the default output, as a recording device.
fn computer_sound_device() -> Result<cpal::Device> {
    let host = cpal::default_host();
    let unavailable = |why: String| {
        MediaError::NoAudioDevice(format!(
            "this computer's sound cannot be recorded here: {why}"
        ))
    };
    let output = host
        .default_output_device()
        .ok_or_else(|| unavailable("the sound server names no default output".into()))?
        .id()
        .map_err(|e| unavailable(e.to_string()))?;
    if !matches!(output.host().name(), "PulseAudio" | "PipeWire") {
        return Err(unavailable(format!(
            "it needs PulseAudio or PipeWire, not {}",
            output.host().name()
        )));
    }
    let monitor = format!("{}.monitor", output.id());
    host.input_devices()
        .map_err(|e| MediaError::AudioDevice(e.to_string()))?
        .find(|d| d.id().is_ok_and(|id| id.id() == monitor))
        .ok_or_else(|| unavailable(format!("the output has no monitor ({monitor})")))
}

impl AudioSource for MicSource {
    fn read(&mut self, frame: &mut AudioFrame) -> Result<()> {
        let timeout = if self.delivered_any {
            STALL_TIMEOUT
        } else {
            FIRST_AUDIO_TIMEOUT
        };
        let started = Instant::now();
        while self.ring.available() < AUDIO_FRAME_SAMPLES {
            if self.health.failed() || started.elapsed() > timeout {
                return Err(MediaError::AudioDevice(format!(
                    "the {} stopped delivering audio (unplugged?)",
                    self.health.what
                )));
            }
            std::thread::sleep(Duration::from_millis(2));
        }
        self.ring.pop(&mut frame.samples);
        self.delivered_any = true;
        Ok(())
    }

    fn is_live(&self) -> bool {
        true
    }
}

/// The speaker: 48 kHz mono written in, copied to every device channel.
pub struct SpeakerSink {
    ring: RingProducer,
    _stream: StreamThread,
    underruns: Arc<AtomicU64>,
    health: Arc<StreamHealth>,
    /// Frames the device asked for so far: a device that went away
    /// without an error simply stops asking for audio.
    frames_asked: Arc<AtomicU64>,
    /// The count last seen by `check`, and when it last moved.
    progress: (u64, Instant),
    started: bool,
    /// Where the callback hands what it plays, once a call asks.
    echo: EchoTapSlot,
}

impl SpeakerSink {
    /// Opens the default output, or the one `key` names.
    pub fn open(key: Option<&DeviceKey>) -> Result<Self> {
        let device = pick_device(false, key)?;
        let config = config_48k(&device, false)?;
        let (ring, consumer) = sample_ring(RING_SAMPLES);
        let underruns = Arc::new(AtomicU64::new(0));
        let underruns_cb = Arc::clone(&underruns);
        let health = StreamHealth::new("speaker");
        let health_error = Arc::clone(&health);
        let frames_asked = Arc::new(AtomicU64::new(0));
        let frames_asked_cb = Arc::clone(&frames_asked);
        let echo = EchoTapSlot::default();
        let mut tap = EchoTap::new(Arc::clone(&echo));
        let stream = StreamThread::spawn("talkline-speaker", move || {
            let channels = config.channels as usize;
            let mut consumer: RingConsumer = consumer;
            let mut mono = [0i16; 1024];
            device
                .build_output_stream::<f32, _, _>(
                    config,
                    move |data: &mut [f32], _| {
                        frames_asked_cb
                            .fetch_add((data.len() / channels) as u64, Ordering::Relaxed);
                        for chunk in data.chunks_mut(mono.len() * channels) {
                            let frames = chunk.len() / channels;
                            let got = consumer.pop(&mut mono[..frames]);
                            if got < frames {
                                mono[got..frames].fill(0);
                                underruns_cb.fetch_add(1, Ordering::Relaxed);
                            }
                            tap.played(&mono[..frames]);
                            for (frame, &s) in chunk.chunks_exact_mut(channels).zip(&mono[..frames])
                            {
                                frame.fill(s as f32 / 32768.0);
                            }
                        }
                    },
                    move |e| health_error.on_error(&e),
                    None,
                )
                .map_err(|e| MediaError::AudioDevice(e.to_string()))
        })?;
        Ok(Self {
            ring,
            _stream: stream,
            underruns,
            health,
            frames_asked,
            progress: (0, Instant::now()),
            started: false,
            echo,
        })
    }

    /// Has the device's callback hand what it plays to `echo`; false if
    /// it already hands it to another call's (a sink kept across calls).
    pub fn tap_echo(&self, echo: &EchoReference) -> bool {
        self.echo.set(echo.clone()).is_ok() || self.echo.get().is_some_and(|e| e.same_as(echo))
    }

    /// Whether the device is still there: it reported no error, and it kept
    /// asking for audio (within `FIRST_AUDIO_TIMEOUT` until it has started,
    /// then `STALL_TIMEOUT`). Called by whoever feeds it, never by the device.
    pub fn check(&mut self) -> Result<()> {
        if self.health.failed() {
            return Err(MediaError::AudioDevice(
                "the speaker reported an error (unplugged?)".into(),
            ));
        }
        let now = Instant::now();
        let count = self.frames_asked.load(Ordering::Relaxed);
        if count != self.progress.0 {
            self.started |= count >= STARTED_FRAMES;
            self.progress = (count, now);
            return Ok(());
        }
        let timeout = if self.started {
            STALL_TIMEOUT
        } else {
            FIRST_AUDIO_TIMEOUT
        };
        if now.duration_since(self.progress.1) > timeout {
            return Err(MediaError::AudioDevice(
                "the speaker stopped taking audio (unplugged?)".into(),
            ));
        }
        Ok(())
    }

    /// Queues samples for playback; returns how many fitted.
    pub fn write(&mut self, samples: &[i16]) -> usize {
        self.ring.push(samples)
    }

    /// Device callbacks that found too little audio queued.
    pub fn underruns(&self) -> u64 {
        self.underruns.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_of_a_live_stream_do_not_end_it() {
        let health = StreamHealth::new("speaker");
        for kind in [cpal::ErrorKind::Xrun, cpal::ErrorKind::BackendError] {
            for _ in 0..1000 {
                health.on_error(&cpal::Error::new(kind));
            }
        }
        assert!(!health.failed(), "errors that may pass ended the stream");
        assert_eq!(health.errors.load(Ordering::Relaxed), 2000);
    }

    #[test]
    fn a_device_that_says_it_is_gone_is_gone_at_once() {
        let health = StreamHealth::new("microphone");
        health.on_error(&cpal::Error::new(cpal::ErrorKind::DeviceNotAvailable));
        assert!(health.failed());
    }
}
