//! VP8 through libvpx: realtime encoder (CBR, no lag, error resilient,
//! keyframes on request, optionally temporal layers) and decoder into
//! reusable I420 frames.

use std::ffi::CStr;
use std::mem::MaybeUninit;
use std::os::raw::{c_int, c_uint, c_ulong};
use std::ptr;

use vpx_sys as vpx;

use crate::error::{MediaError, Result};
use crate::frame::VideoFrame;

fn check(ctx: *mut vpx::vpx_codec_ctx_t, err: vpx::vpx_codec_err_t, what: &str) -> Result<()> {
    if err == vpx::vpx_codec_err_t::VPX_CODEC_OK {
        return Ok(());
    }
    // SAFETY: libvpx returns a static NUL-terminated string for a live or
    // failed-to-init context.
    let detail = unsafe {
        let msg = vpx::vpx_codec_error(ctx);
        if msg.is_null() {
            String::from("unknown error")
        } else {
            CStr::from_ptr(msg).to_string_lossy().into_owned()
        }
    };
    Err(MediaError::Codec(format!("vp8 {what}: {detail} ({err:?})")))
}

/// Encoder settings a call changes at run time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Vp8Config {
    pub width: u32,
    pub height: u32,
    pub frame_rate: u32,
    pub bitrate_kbps: u32,
    /// Temporal layers (see `LayerPattern`): a receiver that loses an
    /// upper-layer frame skips what depends on it and goes on, where a
    /// single layer would need a keyframe.
    pub temporal_layers: u8,
}

/// What one encoded frame is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EncodedFrame {
    pub keyframe: bool,
    pub layer: FrameLayer,
}

/// Where a frame sits in the temporal layers: what the RTP payload
/// descriptor says of it (RFC 7741's TID, Y and N bits), and what a
/// receiver needs to know whether a lost frame matters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FrameLayer {
    /// 0 for the base layer, which references only base frames.
    pub temporal_id: u8,
    /// No later frame references it.
    pub non_reference: bool,
    /// It references only base-layer frames.
    pub layer_sync: bool,
}

impl FrameLayer {
    /// A base-layer frame: what a stream without layers is made of.
    pub const BASE: Self = Self {
        temporal_id: 0,
        non_reference: false,
        layer_sync: false,
    };

    /// The two-layer pattern (see `place`): upper-layer frames reference
    /// the last base frame only, and nothing references them.
    pub fn two_layer(temporal_id: u8) -> Self {
        Self {
            temporal_id,
            non_reference: temporal_id > 0,
            layer_sync: temporal_id > 0,
        }
    }
}

/// Where frames sit, counted from the last keyframe (which is a base frame):
/// - 1 layer: every frame references the last.
/// - 2 layers, period 2: base frames reference the last base frame; the
///   frames between reference it and are referenced by nothing.
/// - 3 layers, period 8: a base frame every 8th references only the base
///   frame before it (kept as the golden frame); layer 1 (frames 2, 4, 6)
///   is a chain on top of it; layer 2 (odd frames) references the newest
///   of those and is referenced by nothing. Losing a layer-2 frame costs
///   it alone, a layer-1 frame the rest of its period, and only a lost
///   base frame (one in 8) needs a keyframe.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Placement {
    layer: FrameLayer,
    flags: u32,
}

fn place(layers: u8, since_keyframe: u32) -> Placement {
    // Nothing reaches for the alt-ref frame, and only 3-layer base frames
    // move the golden one: every reference is one the pattern placed.
    const NO_ALT_REF: u32 = vpx::VP8_EFLAG_NO_REF_ARF | vpx::VP8_EFLAG_NO_UPD_ARF;
    // A frame nothing references also leaves the entropy context alone.
    const NO_UPDATES: u32 =
        vpx::VP8_EFLAG_NO_UPD_LAST | vpx::VP8_EFLAG_NO_UPD_GF | vpx::VP8_EFLAG_NO_UPD_ENTROPY;
    let (temporal_id, flags, non_reference, layer_sync) = match (layers, since_keyframe) {
        (2, i) if i % 2 == 0 => (
            0,
            NO_ALT_REF | vpx::VP8_EFLAG_NO_REF_GF | vpx::VP8_EFLAG_NO_UPD_GF,
            false,
            false,
        ),
        (2, _) => (
            1,
            NO_ALT_REF | vpx::VP8_EFLAG_NO_REF_GF | NO_UPDATES,
            true,
            true,
        ),
        (3, i) if i % 8 == 0 => (
            0,
            NO_ALT_REF | vpx::VP8_EFLAG_NO_REF_LAST | vpx::VP8_EFLAG_FORCE_GF,
            false,
            false,
        ),
        (3, i) if i % 2 == 0 => (1, NO_ALT_REF | vpx::VP8_EFLAG_NO_UPD_GF, false, i % 8 == 2),
        (3, i) => (2, NO_ALT_REF | NO_UPDATES, true, i % 8 == 1),
        // One layer: libvpx's own choices.
        _ => (0, 0, false, false),
    };
    Placement {
        layer: FrameLayer {
            temporal_id,
            non_reference,
            layer_sync,
        },
        flags,
    }
}

/// A context lives in a stable heap slot: libvpx is handed its address.
type Context = Box<MaybeUninit<vpx::vpx_codec_ctx_t>>;

fn new_context() -> Context {
    Box::new(MaybeUninit::zeroed())
}

fn ctx_ptr(ctx: &mut Context) -> *mut vpx::vpx_codec_ctx_t {
    ctx.as_mut_ptr()
}

/// A keyframe at least this often even when nobody asks: a receiver that
/// cannot ask (a recorder) still recovers.
const KEYFRAME_SAFETY_NET_SECONDS: u32 = 10;

/// libvpx's static threshold for a shared screen, libwebrtc's value: the
/// difference under which a block counts as unchanged and is skipped.
const SCREEN_STATIC_THRESHOLD: u32 = 100;

pub struct Vp8Encoder {
    ctx: Context,
    cfg: vpx::vpx_codec_enc_cfg_t,
    config: Vp8Config,
    pts: i64,
    frame_span: u32,
    /// Frames since the last keyframe: places a frame in the layer
    /// pattern, and times the safety-net keyframe.
    since_keyframe: u32,
}

// SAFETY: the libvpx context is only used through &mut self.
unsafe impl Send for Vp8Encoder {}

impl std::fmt::Debug for Vp8Encoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Vp8Encoder")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl Vp8Encoder {
    pub fn new(config: Vp8Config) -> Result<Self> {
        VideoFrame::new(config.width, config.height)?;
        if !(1..=120).contains(&config.frame_rate)
            || !(30..=20_000).contains(&config.bitrate_kbps)
            || !(1..=3).contains(&config.temporal_layers)
        {
            return Err(MediaError::InvalidParameter(format!(
                "vp8: {} fps at {} kbps in {} temporal layers is out of range",
                config.frame_rate, config.bitrate_kbps, config.temporal_layers
            )));
        }
        let mut ctx = new_context();
        // SAFETY: libvpx fills the config before it is read; the context is
        // initialised by vpx_codec_enc_init_ver before any other use.
        let cfg = unsafe {
            let iface = vpx::vpx_codec_vp8_cx();
            let mut cfg = MaybeUninit::<vpx::vpx_codec_enc_cfg_t>::uninit();
            check(
                ctx_ptr(&mut ctx),
                vpx::vpx_codec_enc_config_default(iface, cfg.as_mut_ptr(), 0),
                "config",
            )?;
            let mut cfg = cfg.assume_init();
            cfg.g_w = config.width;
            cfg.g_h = config.height;
            cfg.g_timebase = vpx::vpx_rational { num: 1, den: 1000 };
            // One thread: VP8's encoder threads spin-wait on each other, which
            // burns whole cores once the machine is shared (two calls on two
            // cores fell to 15 fps); 720p still encodes at >100 fps on one.
            cfg.g_threads = 1;
            cfg.g_lag_in_frames = 0;
            cfg.g_error_resilient = vpx::VPX_ERROR_RESILIENT_DEFAULT;
            cfg.rc_end_usage = vpx::vpx_rc_mode::VPX_CBR;
            cfg.rc_target_bitrate = config.bitrate_kbps;
            // Calls count frames: never drop one to hit the rate.
            cfg.rc_dropframe_thresh = 0;
            cfg.rc_resize_allowed = 0;
            cfg.rc_min_quantizer = 2;
            cfg.rc_max_quantizer = 56;
            cfg.rc_undershoot_pct = 100;
            cfg.rc_overshoot_pct = 15;
            cfg.rc_buf_initial_sz = 500;
            cfg.rc_buf_optimal_sz = 600;
            cfg.rc_buf_sz = 1000;
            // Keyframes when a receiver asks (PLI/FIR), plus a slow safety
            // net placed by `encode`: a keyframe libvpx chose by itself
            // could land on an upper-layer frame.
            cfg.kf_mode = vpx::vpx_kf_mode::VPX_KF_DISABLED;
            let c = ctx_ptr(&mut ctx);
            check(
                c,
                vpx::vpx_codec_enc_init_ver(
                    c,
                    iface,
                    &cfg,
                    0,
                    vpx::VPX_ENCODER_ABI_VERSION as c_int,
                ),
                "encoder init",
            )?;
            // Speed for realtime on desktop CPUs, as libwebrtc does.
            let speed = vpx::vp8e_enc_control_id::VP8E_SET_CPUUSED as c_int;
            check(
                c,
                vpx::vpx_codec_control_(c, speed, -6 as c_int),
                "cpu speed",
            )?;
            let max_intra = vpx::vp8e_enc_control_id::VP8E_SET_MAX_INTRA_BITRATE_PCT as c_int;
            check(
                c,
                vpx::vpx_codec_control_(c, max_intra, 300 as c_uint),
                "max intra",
            )?;
            cfg
        };
        Ok(Self {
            ctx,
            cfg,
            config,
            pts: 0,
            frame_span: 1,
            since_keyframe: 0,
        })
    }

    pub fn config(&self) -> Vp8Config {
        self.config
    }

    /// Tunes the encoder for a shared screen, as libwebrtc does for one:
    /// libvpx's screen-content mode (text and flat areas), and keyframes
    /// allowed up to nine times an average frame, for the keyframe a
    /// server asks for every few seconds over a still page (a small gain
    /// on fine text: see the test; BENCHMARKS.md, "Sharing a screen of
    /// text", sees none at 1920x1080 and 2 Mbit/s).
    pub fn tune_for_screen(&mut self) -> Result<()> {
        let c = ctx_ptr(&mut self.ctx);
        // SAFETY: ctx is initialised; the controls take integers.
        unsafe {
            let mode = vpx::vp8e_enc_control_id::VP8E_SET_SCREEN_CONTENT_MODE as c_int;
            check(
                c,
                vpx::vpx_codec_control_(c, mode, 1 as c_uint),
                "screen content",
            )?;
            let max_intra = vpx::vp8e_enc_control_id::VP8E_SET_MAX_INTRA_BITRATE_PCT as c_int;
            check(
                c,
                vpx::vpx_codec_control_(c, max_intra, 900 as c_uint),
                "max intra",
            )?;
            // A block that barely changed is skipped, not searched and
            // coded again: most of a shared screen, most of the time.
            let still = vpx::vp8e_enc_control_id::VP8E_SET_STATIC_THRESHOLD as c_int;
            check(
                c,
                vpx::vpx_codec_control_(c, still, SCREEN_STATIC_THRESHOLD as c_uint),
                "static threshold",
            )?;
        }
        Ok(())
    }

    /// Changes the target bitrate without a keyframe.
    pub fn set_bitrate_kbps(&mut self, kbps: u32) -> Result<()> {
        self.cfg.rc_target_bitrate = kbps.clamp(30, 20_000);
        // SAFETY: ctx is initialised; cfg outlives the call.
        let err = unsafe { vpx::vpx_codec_enc_config_set(ctx_ptr(&mut self.ctx), &self.cfg) };
        check(ctx_ptr(&mut self.ctx), err, "set bitrate")?;
        self.config.bitrate_kbps = self.cfg.rc_target_bitrate;
        Ok(())
    }

    /// Each encoded frame stands for this many of the configured frame
    /// rate (a sender dropping to half rate under congestion passes 2), so
    /// rate control spends the bitrate on the frames actually sent.
    pub fn set_frame_span(&mut self, frames: u32) {
        self.frame_span = frames.clamp(1, self.config.frame_rate);
    }

    /// Encodes one frame into `out` (cleared first; its capacity is reused).
    /// Returns what the frame is, or `None` if the encoder produced nothing
    /// for it.
    pub fn encode(
        &mut self,
        frame: &VideoFrame,
        force_keyframe: bool,
        out: &mut Vec<u8>,
    ) -> Result<Option<EncodedFrame>> {
        if frame.width() != self.config.width || frame.height() != self.config.height {
            return Err(MediaError::InvalidParameter(format!(
                "vp8: frame is {}x{}, encoder is {}x{}",
                frame.width(),
                frame.height(),
                self.config.width,
                self.config.height
            )));
        }
        out.clear();
        let mut keyframe = None;
        let force_keyframe = force_keyframe
            || self.pts == 0
            || self.since_keyframe >= self.config.frame_rate * KEYFRAME_SAFETY_NET_SECONDS;
        let placement = place(self.config.temporal_layers, self.since_keyframe);
        // SAFETY: the image wraps the frame's buffer, which libvpx only reads
        // during vpx_codec_encode; packets are copied out before the next call.
        unsafe {
            let mut img = MaybeUninit::<vpx::vpx_image_t>::uninit();
            let wrapped = vpx::vpx_img_wrap(
                img.as_mut_ptr(),
                vpx::vpx_img_fmt::VPX_IMG_FMT_I420,
                frame.width(),
                frame.height(),
                1,
                frame.as_bytes().as_ptr() as *mut u8,
            );
            if wrapped.is_null() {
                return Err(MediaError::Codec("vp8: cannot wrap frame".into()));
            }
            let flags = if force_keyframe {
                vpx::VPX_EFLAG_FORCE_KF
            } else {
                placement.flags
            } as i64;
            let duration = (self.frame_span * 1000 / self.config.frame_rate) as c_ulong;
            let err = vpx::vpx_codec_encode(
                ctx_ptr(&mut self.ctx),
                wrapped as *const vpx::vpx_image_t,
                self.pts,
                duration,
                flags,
                vpx::VPX_DL_REALTIME as c_ulong,
            );
            self.pts += duration as i64;
            check(ctx_ptr(&mut self.ctx), err, "encode")?;
            let mut iter: vpx::vpx_codec_iter_t = ptr::null();
            loop {
                let pkt = vpx::vpx_codec_get_cx_data(ctx_ptr(&mut self.ctx), &mut iter);
                if pkt.is_null() {
                    break;
                }
                if (*pkt).kind != vpx::vpx_codec_cx_pkt_kind::VPX_CODEC_CX_FRAME_PKT {
                    continue;
                }
                let f = (*pkt).data.frame;
                out.extend_from_slice(std::slice::from_raw_parts(
                    f.buf as *const u8,
                    f.sz as usize,
                ));
                keyframe = Some(keyframe.unwrap_or(false) || f.flags & vpx::VPX_FRAME_IS_KEY != 0);
            }
        }
        Ok(keyframe.map(|keyframe| {
            self.since_keyframe = if keyframe { 1 } else { self.since_keyframe + 1 };
            // A keyframe is a base frame whatever its place.
            let p = if keyframe { place(1, 0) } else { placement };
            EncodedFrame {
                keyframe,
                layer: p.layer,
            }
        }))
    }
}

impl Drop for Vp8Encoder {
    fn drop(&mut self) {
        // SAFETY: ctx was initialised in new().
        unsafe {
            vpx::vpx_codec_destroy(ctx_ptr(&mut self.ctx));
        }
    }
}

/// The largest picture a decoder takes: a 4K screen share. A keyframe
/// says its size in its first bytes and libvpx allocates its buffers for it
/// at once: a peer's keyframe claiming 16,000 x 16,000 (a few hundred bytes)
/// made it ask for 2 GB (found by the fuzzer, fuzz/corpus/rtp_video/
/// crash-vp8-huge-keyframe).
pub const MAX_DECODED_SIDE: u32 = 4096;
pub const MAX_DECODED_PIXELS: u64 = 3840 * 2160;

/// The width and height a VP8 keyframe declares (RFC 6386 9.1), `None` for
/// an interframe or data too short to say.
pub fn keyframe_size(data: &[u8]) -> Option<(u32, u32)> {
    let header = data.get(..10)?;
    let keyframe = header[0] & 1 == 0;
    if !keyframe || header[3..6] != [0x9d, 0x01, 0x2a] {
        return None;
    }
    let side = |lo: u8, hi: u8| u32::from(u16::from_le_bytes([lo, hi]) & 0x3fff);
    Some((side(header[6], header[7]), side(header[8], header[9])))
}

pub struct Vp8Decoder {
    ctx: Context,
}

// SAFETY: the libvpx context is only used through &mut self.
unsafe impl Send for Vp8Decoder {}

impl std::fmt::Debug for Vp8Decoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Vp8Decoder").finish_non_exhaustive()
    }
}

impl Vp8Decoder {
    pub fn new() -> Result<Self> {
        let mut ctx = new_context();
        // SAFETY: the context is initialised by vpx_codec_dec_init_ver.
        unsafe {
            let cfg = vpx::vpx_codec_dec_cfg_t {
                threads: 1,
                w: 0,
                h: 0,
            };
            let c = ctx_ptr(&mut ctx);
            let err = vpx::vpx_codec_dec_init_ver(
                c,
                vpx::vpx_codec_vp8_dx(),
                &cfg,
                0,
                vpx::VPX_DECODER_ABI_VERSION as c_int,
            );
            check(c, err, "decoder init")?;
        }
        Ok(Self { ctx })
    }

    /// Decodes one compressed frame into `out` (reshaped as needed).
    /// Returns false when the data produced no picture. Corrupt data is an
    /// error; the decoder stays usable and recovers at the next keyframe.
    pub fn decode(&mut self, data: &[u8], out: &mut VideoFrame) -> Result<bool> {
        if data.is_empty() || data.len() > 16 * 1024 * 1024 {
            return Err(MediaError::Codec(format!(
                "vp8: frame of {} bytes",
                data.len()
            )));
        }
        if let Some((width, height)) = keyframe_size(data)
            && (width > MAX_DECODED_SIDE
                || height > MAX_DECODED_SIDE
                || u64::from(width) * u64::from(height) > MAX_DECODED_PIXELS)
        {
            return Err(MediaError::Codec(format!(
                "vp8: a keyframe of {width}x{height} is larger than any picture decoded here"
            )));
        }
        // SAFETY: data outlives the call; the returned image is valid until
        // the next decode call and is copied out before returning.
        unsafe {
            let err = vpx::vpx_codec_decode(
                ctx_ptr(&mut self.ctx),
                data.as_ptr(),
                data.len() as c_uint,
                ptr::null_mut(),
                0,
            );
            check(ctx_ptr(&mut self.ctx), err, "decode")?;
            let mut iter: vpx::vpx_codec_iter_t = ptr::null();
            let mut got = false;
            loop {
                let img = vpx::vpx_codec_get_frame(ctx_ptr(&mut self.ctx), &mut iter);
                if img.is_null() {
                    break;
                }
                let img = &*img;
                if img.fmt != vpx::vpx_img_fmt::VPX_IMG_FMT_I420 {
                    return Err(MediaError::Codec(format!(
                        "vp8: unexpected image format {:?}",
                        img.fmt
                    )));
                }
                // I420 frames are even-sized; an odd edge column/row is dropped.
                let (w, h) = (img.d_w & !1, img.d_h & !1);
                out.reshape(w, h)?;
                let (y, u, v) = out.planes_mut();
                copy_plane(img.planes[0], img.stride[0], y, w as usize, h as usize);
                copy_plane(
                    img.planes[1],
                    img.stride[1],
                    u,
                    w as usize / 2,
                    h as usize / 2,
                );
                copy_plane(
                    img.planes[2],
                    img.stride[2],
                    v,
                    w as usize / 2,
                    h as usize / 2,
                );
                got = true;
            }
            Ok(got)
        }
    }
}

/// # Safety
/// `src` must point to `rows` rows of at least `width` bytes, `stride` apart.
unsafe fn copy_plane(src: *const u8, stride: c_int, dst: &mut [u8], width: usize, rows: usize) {
    for row in 0..rows {
        // SAFETY: guaranteed by the caller.
        let line = unsafe {
            std::slice::from_raw_parts(src.offset(row as isize * stride as isize), width)
        };
        dst[row * width..(row + 1) * width].copy_from_slice(line);
    }
}

impl Drop for Vp8Decoder {
    fn drop(&mut self) {
        // SAFETY: ctx was initialised in new().
        unsafe {
            vpx::vpx_codec_destroy(ctx_ptr(&mut self.ctx));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::frame::psnr_luma;
    use crate::pattern::{TestPattern, read_stamp};

    /// 640x360 at 30 fps and 1.2 Mbit/s, as a call sends.
    fn vga_encoder(temporal_layers: u8) -> Vp8Encoder {
        Vp8Encoder::new(Vp8Config {
            width: 640,
            height: 360,
            frame_rate: 30,
            bitrate_kbps: 1_200,
            temporal_layers,
        })
        .expect("encoder")
    }

    #[test]
    fn a_keyframe_claiming_a_huge_picture_is_refused_before_libvpx_allocates() {
        let mut enc = vga_encoder(1);
        let mut pattern = TestPattern::new(640, 360).expect("pattern");
        let mut src = VideoFrame::new(640, 360).expect("frame");
        pattern.draw_next(&mut src, 0).expect("draw");
        let mut packet = Vec::new();
        enc.encode(&src, true, &mut packet).expect("encode");
        assert_eq!(keyframe_size(&packet), Some((640, 360)));
        let mut out = VideoFrame::new(2, 2).expect("frame");
        let mut dec = Vp8Decoder::new().expect("decoder");
        assert!(dec.decode(&packet, &mut out).expect("decodes"));
        // The same keyframe claiming 15,805 x 15,805, as the fuzzer's was.
        let mut huge = packet.clone();
        huge[6..10].copy_from_slice(&[0xbd, 0x3d, 0xbd, 0x3d]);
        assert_eq!(keyframe_size(&huge), Some((15_805, 15_805)));
        let err = dec.decode(&huge, &mut out).expect_err("refused");
        assert!(err.to_string().contains("15805x15805"), "{err}");
        for (w, h) in [(4097u16, 16u16), (16, 4097), (4000, 4000)] {
            let mut wide = packet.clone();
            wide[6..8].copy_from_slice(&w.to_le_bytes());
            wide[8..10].copy_from_slice(&h.to_le_bytes());
            assert!(dec.decode(&wide, &mut out).is_err(), "{w}x{h}");
        }
        // The decoder goes on with the next real keyframe.
        assert!(dec.decode(&packet, &mut out).expect("decodes again"));
        assert_eq!((out.width(), out.height()), (640, 360));
        // Interframes say no size.
        enc.encode(&src, false, &mut packet).expect("encode");
        assert_eq!(keyframe_size(&packet), None);
    }

    #[test]
    fn pattern_round_trip_keeps_quality_and_stamps() {
        let (w, h) = (640, 360);
        let mut enc = vga_encoder(1);
        let mut dec = Vp8Decoder::new().expect("decoder");
        let mut pattern = TestPattern::new(w, h).expect("pattern");
        let mut src = VideoFrame::new(w, h).expect("frame");
        let mut out = VideoFrame::new(2, 2).expect("frame");
        let mut packet = Vec::new();
        let mut psnrs = Vec::new();
        let mut keyframes = 0;
        for i in 0..60u64 {
            let stamp = pattern.draw_next(&mut src, i * 33_333).expect("draw");
            let key = enc
                .encode(&src, i == 30, &mut packet)
                .expect("encode")
                .expect("a packet per frame")
                .keyframe;
            keyframes += key as u32;
            if i == 0 || i == 30 {
                assert!(key, "frame {i} must be a keyframe");
            }
            assert!(dec.decode(&packet, &mut out).expect("decode"));
            assert_eq!(read_stamp(&out), Some(stamp), "frame {i}");
            psnrs.push(psnr_luma(&src, &out).expect("same size"));
        }
        assert_eq!(keyframes, 2);
        let mean = psnrs.iter().sum::<f64>() / psnrs.len() as f64;
        assert!(mean > 30.0, "mean PSNR {mean:.1} dB");
    }

    /// The point of the upper layer: a receiver that never gets its frames
    /// still decodes every base frame cleanly, with no keyframe between.
    #[test]
    fn base_layer_decodes_without_the_upper_layer() {
        let (w, h) = (640, 360);
        let mut enc = vga_encoder(2);
        let mut dec = Vp8Decoder::new().expect("decoder");
        let mut pattern = TestPattern::new(w, h).expect("pattern");
        let mut src = VideoFrame::new(w, h).expect("frame");
        let mut out = VideoFrame::new(2, 2).expect("frame");
        let mut packet = Vec::new();
        let (mut base, mut upper) = (0, 0);
        for i in 0..90u64 {
            let stamp = pattern.draw_next(&mut src, i * 33_333).expect("draw");
            let frame = enc
                .encode(&src, false, &mut packet)
                .expect("encode")
                .expect("a packet per frame");
            assert_eq!(frame.keyframe, i == 0, "frame {i}");
            // Keyframe, then upper and base frames in turn.
            assert_eq!(frame.layer.temporal_id, (i % 2) as u8, "frame {i}");
            if frame.layer.temporal_id > 0 {
                upper += 1;
                continue;
            }
            base += 1;
            assert!(dec.decode(&packet, &mut out).expect("decode"));
            assert_eq!(read_stamp(&out), Some(stamp), "frame {i}");
            let psnr = psnr_luma(&src, &out).expect("same size");
            assert!(psnr > 30.0, "frame {i}: PSNR {psnr:.1} dB");
        }
        assert_eq!((base, upper), (45, 45));
        // Asked for, a keyframe is a base frame and the pattern restarts.
        pattern.draw_next(&mut src, 90 * 33_333).expect("draw");
        let key = enc.encode(&src, true, &mut packet).expect("encode");
        assert_eq!(
            key,
            Some(EncodedFrame {
                keyframe: true,
                layer: FrameLayer::BASE,
            })
        );
        let next = enc.encode(&src, false, &mut packet).expect("encode");
        assert_eq!(next.map(|f| f.layer.temporal_id), Some(1));
    }

    /// Three layers: decoders that get only some of the layers, or lose a
    /// layer-1 frame and skip what depends on it, all stay clean.
    #[test]
    fn three_layers_decode_from_any_lower_layer_set() {
        let (w, h) = (640, 360);
        let mut enc = vga_encoder(3);
        let mut pattern = TestPattern::new(w, h).expect("pattern");
        let mut src = VideoFrame::new(w, h).expect("frame");
        let mut out = VideoFrame::new(2, 2).expect("frame");
        let mut packet = Vec::new();
        // Base only; base and layer 1; everything but frame 10 (layer 1)
        // and what depends on it, up to the next base frame.
        let mut decoders: Vec<Vp8Decoder> = (0..3)
            .map(|_| Vp8Decoder::new().expect("decoder"))
            .collect();
        let mut decoded = [0; 3];
        for i in 0..96u64 {
            let stamp = pattern.draw_next(&mut src, i * 33_333).expect("draw");
            let f = enc
                .encode(&src, false, &mut packet)
                .expect("encode")
                .expect("a packet per frame");
            let expected = [0u8, 2, 1, 2, 1, 2, 1, 2][i as usize % 8];
            assert_eq!(f.layer.temporal_id, expected, "frame {i}");
            assert_eq!(f.layer.non_reference, expected == 2, "frame {i}");
            assert_eq!(f.layer.layer_sync, matches!(i % 8, 1 | 2), "frame {i}");
            let lost_chain = (10..16).contains(&i);
            let wanted = [
                f.layer.temporal_id == 0,
                f.layer.temporal_id <= 1,
                !lost_chain,
            ];
            for (d, want) in wanted.into_iter().enumerate() {
                if !want {
                    continue;
                }
                assert!(decoders[d].decode(&packet, &mut out).expect("decode"));
                assert_eq!(read_stamp(&out), Some(stamp), "decoder {d}, frame {i}");
                let psnr = psnr_luma(&src, &out).expect("same size");
                assert!(psnr > 30.0, "decoder {d}, frame {i}: PSNR {psnr:.1} dB");
                decoded[d] += 1;
            }
        }
        assert_eq!(decoded, [12, 48, 90]);
    }

    /// A still page of fine text, as a shared screen shows it: one-pixel
    /// strokes, black on white.
    fn text_page(width: u32, height: u32) -> VideoFrame {
        let mut page = VideoFrame::new(width, height).expect("frame");
        let (y, u, v) = page.planes_mut();
        for (i, px) in y.iter_mut().enumerate() {
            let (x, row) = (i as u32 % width, i as u32 / width);
            let glyph = (x / 4 + row / 9) % 3 == 0 && row % 9 < 7 && x % 4 < 2;
            *px = if glyph { 16 } else { 235 };
        }
        u.fill(128);
        v.fill(128);
        page
    }

    #[test]
    fn a_screen_keyframe_keeps_a_page_of_text_sharp() {
        // The keyframe a server asks for every few seconds, after a still
        // page has been sent a while, at a screen share's modest rate.
        let keyframe_psnr = |screen: bool| {
            let mut enc = Vp8Encoder::new(Vp8Config {
                width: 1280,
                height: 720,
                frame_rate: 10,
                bitrate_kbps: 1000,
                temporal_layers: 1,
            })
            .expect("encoder");
            if screen {
                enc.tune_for_screen().expect("screen tuning");
            }
            let mut dec = Vp8Decoder::new().expect("decoder");
            let page = text_page(1280, 720);
            let (mut packet, mut out) = (Vec::new(), VideoFrame::new(2, 2).expect("frame"));
            for i in 0..51 {
                let info = enc.encode(&page, i == 50, &mut packet).expect("encode");
                assert!(dec.decode(&packet, &mut out).expect("decode"));
                if i == 50 {
                    assert!(info.is_some_and(|f| f.keyframe));
                }
            }
            psnr_luma(&page, &out).expect("same size")
        };
        let (camera, screen) = (keyframe_psnr(false), keyframe_psnr(true));
        assert!(
            screen >= camera + 0.5,
            "keyframe PSNR: {screen:.1} dB tuned for a screen, {camera:.1} dB for a camera"
        );
    }

    #[test]
    fn corrupt_input_is_an_error_and_decoder_recovers() {
        let mut dec = Vp8Decoder::new().expect("decoder");
        let mut out = VideoFrame::new(2, 2).expect("frame");
        assert!(dec.decode(&[], &mut out).is_err());
        assert!(
            dec.decode(&[0x9d, 0x01, 0x2a, 0xff, 0xff, 0xff, 0xff], &mut out)
                .is_err()
        );
        let mut enc = Vp8Encoder::new(Vp8Config {
            width: 320,
            height: 240,
            frame_rate: 30,
            bitrate_kbps: 500,
            temporal_layers: 2,
        })
        .expect("encoder");
        let mut pattern = TestPattern::new(320, 240).expect("pattern");
        let mut src = VideoFrame::new(320, 240).expect("frame");
        pattern.draw_next(&mut src, 0).expect("draw");
        let mut packet = Vec::new();
        enc.encode(&src, false, &mut packet).expect("encode");
        assert!(dec.decode(&packet, &mut out).expect("decode"));
        assert_eq!((out.width(), out.height()), (320, 240));
        assert!(
            enc.encode(&VideoFrame::new(2, 2).expect("frame"), false, &mut packet)
                .is_err()
        );
        assert!(
            Vp8Encoder::new(Vp8Config {
                width: 320,
                height: 240,
                frame_rate: 0,
                bitrate_kbps: 500,
                temporal_layers: 1,
            })
            .is_err()
        );
        assert!(
            Vp8Encoder::new(Vp8Config {
                width: 320,
                height: 240,
                frame_rate: 30,
                bitrate_kbps: 500,
                temporal_layers: 4,
            })
            .is_err()
        );
    }
}
