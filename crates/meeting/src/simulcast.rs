//! Publishing video at three sizes at once (simulcast), so Janus can relay
//! each subscriber the one its tile needs (`layers`).
//!
//! The call offers one video track with three encodings, each with its own
//! SSRC and RTP stream id (rid), largest first: Janus takes the first rid
//! of an offer for its highest substream. Janus learns which SSRC is which
//! rid from the packets: every packet carries the mid and rid header
//! extensions (RFC 8843, RFC 8852), as browsers' do, and Janus drops the
//! packets of an SSRC it has not matched. webrtc-rs offers the rids but
//! leaves the extensions to whoever packetizes, which is us.
//!
//! The full-size layer is the send pipeline's encoder as without simulcast;
//! `SmallerLayers` adds the half and quarter sizes. What each layer may send
//! is `congestion::LayerAllocation`'s.

use bytes::Bytes;
use rtc::rtp::header::Header;

use talkline_media::frame::{downscale, scaled_size};
use talkline_media::vp8::{EncodedFrame, Vp8Config, Vp8Encoder};
use talkline_media::{MediaError, VideoFrame};

use crate::congestion::{LAYER_DIVISORS, LayerRates};
use crate::sdp;

/// The encodings' stream ids, largest first, as offered.
pub const RIDS: [&str; 3] = ["h", "m", "l"];

const MID_URI: &str = "urn:ietf:params:rtp-hdrext:sdes:mid";
const RID_URI: &str = "urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id";

/// One-byte header extensions (RFC 8285) carry at most 16 bytes.
const MAX_ONE_BYTE_EXTENSION: usize = 16;

/// The header extension ids the answer agreed for mid and rid, and the mid
/// our video packets carry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamIds {
    mid_id: u8,
    rid_id: u8,
    mid: Bytes,
}

impl StreamIds {
    /// From the answer to our offer, for the video section `mid`; `None`
    /// if the server did not take both extensions (it cannot tell the
    /// layers apart then, and gets the full size only).
    pub fn negotiated(answer_sdp: &str, mid: &str) -> Option<Self> {
        let one_byte = |id: u8| (1..=14).contains(&id);
        let mid_id = sdp::extension_id_of_mid(answer_sdp, mid, MID_URI).filter(|&i| one_byte(i))?;
        let rid_id = sdp::extension_id_of_mid(answer_sdp, mid, RID_URI).filter(|&i| one_byte(i))?;
        if mid.is_empty() || mid.len() > MAX_ONE_BYTE_EXTENSION {
            return None;
        }
        Some(Self {
            mid_id,
            rid_id,
            mid: Bytes::copy_from_slice(mid.as_bytes()),
        })
    }

    /// Marks a packet of encoding `index` (0: full size) with its mid and rid.
    pub fn stamp(&self, header: &mut Header, index: usize) {
        let rid = Bytes::from_static(RIDS[index.min(RIDS.len() - 1)].as_bytes());
        // Both fit a one-byte extension (checked when negotiated).
        let _ = header.set_extension(self.mid_id, self.mid.clone());
        let _ = header.set_extension(self.rid_id, rid);
    }
}

/// One smaller encoding: its own encoder (while it is sent) and the
/// camera's picture made small for it.
struct SmallerLayer {
    index: usize,
    encoder: Option<Vp8Encoder>,
    picture: VideoFrame,
}

/// The half- and quarter-size encodings of a simulcast publisher.
pub(crate) struct SmallerLayers {
    layers: [SmallerLayer; 2],
}

impl SmallerLayers {
    pub fn new() -> Result<Self, MediaError> {
        let layer = |index| -> Result<SmallerLayer, MediaError> {
            Ok(SmallerLayer {
                index,
                encoder: None,
                picture: VideoFrame::new(2, 2)?,
            })
        };
        Ok(Self {
            layers: [layer(1)?, layer(2)?],
        })
    }

    /// Starts, retunes or stops each smaller encoding as `rates` say, for
    /// a camera of `native` size at `fps`. A started encoder's first frame
    /// is a keyframe, which a receiver switched to it needs.
    pub fn follow(
        &mut self,
        rates: &LayerRates,
        native: (u32, u32),
        fps: u32,
        temporal_layers: u8,
    ) -> Result<(), MediaError> {
        for layer in &mut self.layers {
            let (width, height) = scaled_size(native.0, native.1, LAYER_DIVISORS[layer.index]);
            match (rates[layer.index], layer.encoder.as_mut()) {
                (None, _) => layer.encoder = None,
                (Some(kbps), Some(encoder))
                    if encoder.config().width == width
                        && encoder.config().height == height
                        && encoder.config().frame_rate == fps
                        && encoder.config().temporal_layers == temporal_layers =>
                {
                    if encoder.config().bitrate_kbps != kbps {
                        encoder.set_bitrate_kbps(kbps)?;
                    }
                }
                (Some(kbps), _) => {
                    layer.encoder = Some(Vp8Encoder::new(Vp8Config {
                        width,
                        height,
                        frame_rate: fps,
                        bitrate_kbps: kbps,
                        temporal_layers,
                    })?);
                    layer.picture.reshape(width, height)?;
                }
            }
        }
        Ok(())
    }

    /// Makes every encoding that is sent anew (new temporal layers, a new
    /// camera): each starts on a keyframe.
    pub fn restart(&mut self, native: (u32, u32), fps: u32, temporal_layers: u8) {
        let mut rates = [None; 3];
        for layer in &mut self.layers {
            rates[layer.index] = layer.encoder.take().map(|e| e.config().bitrate_kbps);
        }
        if let Err(e) = self.follow(&rates, native, fps, temporal_layers) {
            log::warn!("cannot restart the smaller video layers: {e}");
        }
    }

    /// Stops every smaller encoding (a new camera: they start anew).
    pub fn stop(&mut self) {
        for layer in &mut self.layers {
            layer.encoder = None;
        }
    }

    /// How many smaller encodings are sent now.
    pub fn sending(&self) -> usize {
        self.layers.iter().filter(|l| l.encoder.is_some()).count()
    }

    /// Encodes `frame` at each smaller size that is sent, into `out[index]`
    /// (its capacity reused), the result in `encoded[index]`.
    pub fn encode(
        &mut self,
        frame: &VideoFrame,
        force_keyframe: bool,
        span: u32,
        out: &mut [Vec<u8>; 3],
        encoded: &mut [Option<EncodedFrame>; 3],
    ) {
        let [half, quarter] = &mut self.layers;
        // The quarter size is made from the half size when there is one:
        // a quarter of the pixels to read (the sizes agree: see
        // `scaled_size`).
        let half_made = half.shrink(frame, frame, 2);
        if half_made {
            half.encode(force_keyframe, span, out, encoded);
        }
        let made = if half_made {
            quarter.shrink(&half.picture, frame, 2)
        } else {
            quarter.shrink(frame, frame, 4)
        };
        if made {
            quarter.encode(force_keyframe, span, out, encoded);
        }
    }
}

impl SmallerLayer {
    /// Makes `source` `divisor` times smaller into this layer's picture,
    /// stamped with `frame`'s capture time; false if it could not.
    fn shrink(&mut self, source: &VideoFrame, frame: &VideoFrame, divisor: u32) -> bool {
        if self.encoder.is_none() {
            return false;
        }
        if let Err(e) = downscale(source, divisor, &mut self.picture) {
            log::warn!(
                "cannot make the picture smaller for layer {}: {e}",
                self.index
            );
            return false;
        }
        self.picture.capture_time_us = frame.capture_time_us;
        true
    }

    fn encode(
        &mut self,
        force_keyframe: bool,
        span: u32,
        out: &mut [Vec<u8>; 3],
        encoded: &mut [Option<EncodedFrame>; 3],
    ) {
        let Some(encoder) = self.encoder.as_mut() else {
            return;
        };
        encoder.set_frame_span(span);
        match encoder.encode(&self.picture, force_keyframe, &mut out[self.index]) {
            Ok(result) => encoded[self.index] = result,
            Err(e) => log::warn!("video layer {} encode failed: {e}", self.index),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ANSWER: &str = "v=0\r\n\
        m=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=mid:0\r\na=extmap:1 urn:ietf:params:rtp-hdrext:sdes:mid\r\n\
        m=video 9 UDP/TLS/RTP/SAVPF 96\r\na=mid:1\r\na=extmap:1 urn:ietf:params:rtp-hdrext:sdes:mid\r\n\
        a=extmap:3 urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id\r\n";

    #[test]
    fn the_extensions_come_from_the_answer_s_video_section() {
        let ids = StreamIds::negotiated(ANSWER, "1");
        assert_eq!(
            ids,
            Some(StreamIds {
                mid_id: 1,
                rid_id: 3,
                mid: Bytes::from_static(b"1")
            })
        );
        // No rid extension for audio's section; none past the one-byte ids;
        // a mid too long for a one-byte extension.
        assert_eq!(StreamIds::negotiated(ANSWER, "0"), None);
        let wide = ANSWER.replace("extmap:3 ", "extmap:15 ");
        assert_eq!(StreamIds::negotiated(&wide, "1"), None);
        let long = ANSWER.replace("a=mid:1", "a=mid:a-mid-of-seventeen");
        assert_eq!(StreamIds::negotiated(&long, "a-mid-of-seventeen"), None);
    }

    #[test]
    fn each_packet_carries_its_mid_and_its_encoding_s_rid() {
        let ids = StreamIds::negotiated(ANSWER, "1").expect("negotiated");
        for (index, rid) in [(0, "h"), (1, "m"), (2, "l")] {
            let mut header = Header::default();
            ids.stamp(&mut header, index);
            assert!(header.extension);
            assert_eq!(header.get_extension(1).as_deref(), Some(&b"1"[..]));
            assert_eq!(header.get_extension(3).as_deref(), Some(rid.as_bytes()));
        }
    }

    fn frame() -> VideoFrame {
        let mut f = VideoFrame::new(640, 360).expect("frame");
        f.capture_time_us = 7;
        f
    }

    #[test]
    fn the_smaller_layers_encode_at_half_and_quarter_size_while_they_are_sent() {
        let mut layers = SmallerLayers::new().expect("layers");
        let (mut out, mut encoded) = (<[Vec<u8>; 3]>::default(), [None; 3]);
        layers
            .follow(&[Some(800), Some(150), Some(120)], (640, 360), 30, 1)
            .expect("follow");
        assert_eq!(layers.sending(), 2);
        layers.encode(&frame(), false, 1, &mut out, &mut encoded);
        assert!(encoded[0].is_none());
        for index in [1, 2] {
            assert!(encoded[index].is_some_and(|e| e.keyframe), "{index}");
            let mut decoder = talkline_media::vp8::Vp8Decoder::new().expect("decoder");
            let mut picture = VideoFrame::new(2, 2).expect("picture");
            assert!(decoder.decode(&out[index], &mut picture).expect("decode"));
            assert_eq!(
                (picture.width(), picture.height()),
                (640 / LAYER_DIVISORS[index], 360 / LAYER_DIVISORS[index])
            );
        }
        // The half size stops; the quarter goes on without a new keyframe.
        encoded = [None; 3];
        layers
            .follow(&[None, None, Some(100)], (640, 360), 30, 1)
            .expect("follow");
        assert_eq!(layers.sending(), 1);
        layers.encode(&frame(), false, 1, &mut out, &mut encoded);
        assert!(encoded[1].is_none());
        assert!(encoded[2].is_some_and(|e| !e.keyframe));
        // Back on: it starts on a keyframe.
        layers
            .follow(&[None, Some(150), Some(100)], (640, 360), 30, 1)
            .expect("follow");
        layers.encode(&frame(), false, 1, &mut out, &mut encoded);
        assert!(encoded[1].is_some_and(|e| e.keyframe));
        assert!(encoded[2].is_some_and(|e| !e.keyframe));
        // A restart (new temporal layers) starts both on a keyframe.
        layers.restart((640, 360), 30, 2);
        layers.encode(&frame(), false, 1, &mut out, &mut encoded);
        assert!(encoded[1].is_some_and(|e| e.keyframe));
        assert!(encoded[2].is_some_and(|e| e.keyframe));
    }
}
