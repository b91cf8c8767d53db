//! The little SDP reading the call needs: which m-section (mid) carries
//! which SSRCs, so a remote track can be matched to a participant, and
//! which id an RTP header extension has there.

/// One m-section as far as we care.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MediaSection {
    pub kind: String,
    pub mid: Option<String>,
    pub ssrcs: Vec<u32>,
    /// `a=extmap` lines: id and URI.
    pub extensions: Vec<(u8, String)>,
}

/// Splits an SDP into its media sections; tolerant of anything it does not
/// understand (lines it cannot parse are skipped).
pub fn media_sections(sdp: &str) -> Vec<MediaSection> {
    let mut out: Vec<MediaSection> = Vec::new();
    for line in sdp.lines().map(str::trim_end) {
        if let Some(rest) = line.strip_prefix("m=") {
            out.push(MediaSection {
                kind: rest.split(' ').next().unwrap_or("").to_string(),
                mid: None,
                ssrcs: Vec::new(),
                extensions: Vec::new(),
            });
        } else if let Some(section) = out.last_mut() {
            if let Some(mid) = line.strip_prefix("a=mid:") {
                section.mid = Some(mid.to_string());
            } else if let Some(rest) = line.strip_prefix("a=ssrc:")
                && let Some(ssrc) = rest.split(' ').next().and_then(|s| s.parse().ok())
                && !section.ssrcs.contains(&ssrc)
            {
                section.ssrcs.push(ssrc);
            } else if let Some(rest) = line.strip_prefix("a=extmap:") {
                // "id[/direction] uri [attributes]"
                let mut words = rest.split(' ');
                let id = words.next().and_then(|w| w.split('/').next()?.parse().ok());
                if let (Some(id), Some(uri)) = (id, words.next()) {
                    section.extensions.push((id, uri.to_string()));
                }
            }
        }
    }
    out
}

/// The mid of the first section of `kind` ("audio"/"video").
pub fn first_mid(sdp: &str, kind: &str) -> Option<String> {
    media_sections(sdp)
        .into_iter()
        .find(|s| s.kind == kind)
        .and_then(|s| s.mid)
}

/// The mid of the section that carries `ssrc`.
pub fn mid_of_ssrc(sdp: &str, ssrc: u32) -> Option<String> {
    media_sections(sdp)
        .into_iter()
        .find(|s| s.ssrcs.contains(&ssrc))
        .and_then(|s| s.mid)
}

/// The id of header extension `uri` in the section that carries `ssrc`.
pub fn extension_id(sdp: &str, ssrc: u32, uri: &str) -> Option<u8> {
    media_sections(sdp)
        .into_iter()
        .find(|s| s.ssrcs.contains(&ssrc))?
        .extensions
        .into_iter()
        .find_map(|(id, u)| (u == uri).then_some(id))
}

/// The id of header extension `uri` in the section of `mid`.
pub fn extension_id_of_mid(sdp: &str, mid: &str, uri: &str) -> Option<u8> {
    media_sections(sdp)
        .into_iter()
        .find(|s| s.mid.as_deref() == Some(mid))?
        .extensions
        .into_iter()
        .find_map(|(id, u)| (u == uri).then_some(id))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sections_mids_and_ssrcs() {
        let sdp = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n\
            m=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=mid:0\r\na=ssrc:111 cname:x\r\na=ssrc:111 msid:a b\r\n\
            m=video 9 UDP/TLS/RTP/SAVPF 96\r\na=mid:1\r\na=ssrc:222 cname:x\r\na=ssrc:bogus\r\n\
            m=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\n";
        let s = media_sections(sdp);
        assert_eq!(s.len(), 3);
        assert_eq!(s[0].ssrcs, [111]);
        assert_eq!(first_mid(sdp, "video").as_deref(), Some("1"));
        assert_eq!(mid_of_ssrc(sdp, 222).as_deref(), Some("1"));
        assert_eq!(mid_of_ssrc(sdp, 333), None);
        assert!(media_sections("garbage\n\u{0}\nm=").len() == 1);
    }

    #[test]
    fn header_extension_ids_by_section() {
        let level = "urn:ietf:params:rtp-hdrext:ssrc-audio-level";
        let sdp = "v=0\r\n\
            m=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=mid:0\r\na=extmap:1 urn:ietf:params:rtp-hdrext:sdes:mid\r\n\
            a=extmap:4/sendonly urn:ietf:params:rtp-hdrext:ssrc-audio-level vad=on\r\na=ssrc:111 cname:x\r\n\
            m=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=mid:1\r\na=extmap:x bogus\r\na=extmap:300 too-big\r\na=ssrc:222 cname:x\r\n";
        assert_eq!(extension_id(sdp, 111, level), Some(4));
        assert_eq!(extension_id(sdp, 222, level), None);
        assert_eq!(extension_id(sdp, 333, level), None);
        assert!(media_sections(sdp)[1].extensions.is_empty());
        let mid = "urn:ietf:params:rtp-hdrext:sdes:mid";
        assert_eq!(extension_id_of_mid(sdp, "0", mid), Some(1));
        assert_eq!(extension_id_of_mid(sdp, "1", mid), None);
        assert_eq!(extension_id_of_mid(sdp, "2", level), None);
    }
}
