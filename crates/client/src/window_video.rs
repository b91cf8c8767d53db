//! Video on its way to the window: the newest decoded picture of a tile
//! (`next_frame`), or the encoded frames of every tile for a window that
//! decodes them itself (`next_encoded`). The shell serves both over its
//! IPC; `video_socket` serves `next_encoded` over a loopback WebSocket that
//! bypasses the shell's main thread.

use std::time::Duration;

use serde::Deserialize;
use talkline_media::display::Tiles;
use talkline_media::encoded_feed::{self, EncodedFeed};

use crate::error::AppError;

/// How long a read waits for a new frame before answering "none yet" (the
/// window asks again): long enough to cost nothing, short enough that a
/// removed tile's request ends soon.
pub(crate) const FRAME_WAIT: Duration = Duration::from_millis(500);

/// More tiles than any grid shows: a request beyond it is a broken window.
pub(crate) const MAX_TILES_PER_READ: usize = 64;

/// Where the window's decoder of one tile stands: the last frame it has.
#[derive(Debug, Clone, Deserialize)]
pub struct TileCursor {
    pub tile: String,
    pub after: u64,
}

/// The newest picture of `tile` after `after`, in the mailbox's wire form;
/// empty if none arrived within a short wait.
pub async fn next_frame(tiles: &Tiles, tile: &str, after: u64) -> Vec<u8> {
    // A window reading pictures does not decode: hand the stream back.
    tiles.unwatch_encoded(tile);
    let mailbox = tiles.get_or_create(tile);
    if let Some(bytes) = mailbox.newer_than(after) {
        return bytes;
    }
    let _ = tokio::time::timeout(FRAME_WAIT, mailbox.changed(after)).await;
    mailbox.newer_than(after).unwrap_or_default()
}

/// The encoded frames of every tile in `cursors` (tile, last frame the
/// window has), in the wire form of `encoded_feed::read_tiles`; empty if
/// none arrived within `wait_ms` (at most, and by default, half a second).
/// Reading marks a feed watched, so the call hands that stream over and
/// stops decoding it in the core.
pub async fn next_encoded(
    tiles: &Tiles,
    cursors: &[TileCursor],
    wait_ms: Option<u64>,
) -> Result<Vec<u8>, AppError> {
    if cursors.len() > MAX_TILES_PER_READ {
        return Err(AppError::Media(crate::Said::new(
            format!(
                "asked for {} tiles at once; at most {MAX_TILES_PER_READ}",
                cursors.len()
            ),
            format!(
                "一次请求了 {} 个画面；最多 {MAX_TILES_PER_READ} 个",
                cursors.len()
            ),
        )));
    }
    let feeds: Vec<_> = cursors
        .iter()
        .map(|c| (tiles.encoded_feed(&c.tile), c.after))
        .collect();
    let mut out = Vec::new();
    encoded_feed::read_tiles(&feeds, &mut out);
    if out.is_empty() && !feeds.is_empty() {
        let waiting: Vec<&EncodedFeed> = feeds.iter().map(|(f, _)| f.as_ref()).collect();
        let wait = wait_ms.map_or(FRAME_WAIT, |ms| Duration::from_millis(ms).min(FRAME_WAIT));
        let _ = tokio::time::timeout(wait, encoded_feed::any_ready(&waiting)).await;
        encoded_feed::read_tiles(&feeds, &mut out);
    }
    Ok(out)
}
