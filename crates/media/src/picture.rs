//! Pictures a user picks (a background photo, a file with a meeting QR
//! code): PNG or JPEG only, decoded within limits, and scaled down once to
//! the size their use needs.
//!
//! The limits are what keeps a decompression bomb harmless: a PNG of a few
//! kilobytes may claim 60,000 x 60,000 pixels, which would ask for 10 GiB.
//! The image crate checks the header against them before it allocates.

use std::io::Cursor;

use image::{DynamicImage, ImageFormat, ImageReader, Limits};

/// Files larger than this are not pictures a user picked for a meeting.
pub const MAX_PICTURE_FILE_BYTES: usize = 32 * 1024 * 1024;
/// The widest or tallest picture decoded (a 100-megapixel camera is 12,000
/// wide).
pub const MAX_PICTURE_SIDE: u32 = 16_384;
/// The most the decoder may allocate for one picture: photos of up to about
/// 85 megapixels (3 bytes a pixel for a JPEG, 4 for a PNG with alpha: a
/// 48-megapixel phone photo is 192 MiB in RGBA).
pub const MAX_PICTURE_ALLOC_BYTES: u64 = 256 * 1024 * 1024;

/// Decodes a PNG or JPEG within the limits above, then scales it down (once,
/// keeping its shape) so neither side is longer than `max_side`. The error
/// is a sentence for the user.
pub fn decode_picture(bytes: &[u8], max_side: u32) -> Result<DynamicImage, String> {
    if bytes.len() > MAX_PICTURE_FILE_BYTES {
        return Err(format!(
            "it is larger than {} MB",
            MAX_PICTURE_FILE_BYTES / (1024 * 1024)
        ));
    }
    let mut reader = ImageReader::new(Cursor::new(bytes))
        .with_guessed_format()
        .map_err(|e| e.to_string())?;
    if !matches!(reader.format(), Some(ImageFormat::Png | ImageFormat::Jpeg)) {
        return Err("it is not a PNG or JPEG picture".into());
    }
    let mut limits = Limits::default();
    limits.max_image_width = Some(MAX_PICTURE_SIDE);
    limits.max_image_height = Some(MAX_PICTURE_SIDE);
    limits.max_alloc = Some(MAX_PICTURE_ALLOC_BYTES);
    reader.limits(limits);
    let decoded = reader.decode().map_err(|e| e.to_string())?;
    Ok(if decoded.width().max(decoded.height()) > max_side {
        decoded.resize(max_side, max_side, image::imageops::FilterType::Triangle)
    } else {
        decoded
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A PNG whose header claims `width` x `height` and whose pixel data is
    /// a few bytes: the shape of a decompression bomb.
    fn png_claiming(width: u32, height: u32) -> Vec<u8> {
        let mut small = Vec::new();
        DynamicImage::new_rgb8(2, 2)
            .write_to(&mut Cursor::new(&mut small), ImageFormat::Png)
            .expect("encode");
        // IHDR's width and height follow the signature (8), the chunk's
        // length (4) and type (4); its CRC (4 bytes after 13 of data) must
        // then be recomputed for the decoder to read on.
        small[16..20].copy_from_slice(&width.to_be_bytes());
        small[20..24].copy_from_slice(&height.to_be_bytes());
        let crc = crc32(&small[12..29]);
        small[29..33].copy_from_slice(&crc.to_be_bytes());
        small
    }

    fn crc32(bytes: &[u8]) -> u32 {
        let mut crc = !0u32;
        for &b in bytes {
            crc ^= u32::from(b);
            for _ in 0..8 {
                crc = if crc & 1 != 0 {
                    (crc >> 1) ^ 0xEDB8_8320
                } else {
                    crc >> 1
                };
            }
        }
        !crc
    }

    #[test]
    fn a_picture_that_claims_to_be_huge_is_refused_before_it_is_allocated() {
        for (w, h) in [(60_000, 60_000), (12_000, 12_000), (100_000, 2)] {
            let err = decode_picture(&png_claiming(w, h), 1920).expect_err("a bomb");
            assert!(
                err.contains("limit") || err.contains("large") || err.contains("dimensions"),
                "{w}x{h}: {err}"
            );
        }
        // The same file with an honest header decodes.
        let ok = decode_picture(&png_claiming(2, 2), 1920).expect("decodes");
        assert_eq!((ok.width(), ok.height()), (2, 2));
    }

    #[test]
    fn only_png_and_jpeg_are_read_and_large_ones_are_scaled_down() {
        let mut gif = b"GIF89a".to_vec();
        gif.extend([0; 32]);
        assert_eq!(
            decode_picture(&gif, 1920).expect_err("gif"),
            "it is not a PNG or JPEG picture"
        );
        let mut wide = Vec::new();
        DynamicImage::new_rgb8(400, 100)
            .write_to(&mut Cursor::new(&mut wide), ImageFormat::Png)
            .expect("encode");
        let scaled = decode_picture(&wide, 200).expect("decodes");
        assert_eq!((scaled.width(), scaled.height()), (200, 50));
    }
}
