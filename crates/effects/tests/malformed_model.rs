//! Broken model bytes give errors, never panics.
#![allow(clippy::unwrap_used)]

use talkline_effects::{
    EffectsError, Interpreter, SELFIE_SEGMENTATION_LANDSCAPE, SegmentationModel,
};

#[test]
fn empty_and_garbage_bytes_are_malformed() {
    for bytes in [
        &b""[..],
        b"TFL3",
        b"\x08\0\0\0TFL3\0\0\0\0",
        &[0xffu8; 64][..],
    ] {
        assert!(matches!(
            Interpreter::new(bytes),
            Err(EffectsError::MalformedModel(_))
        ));
    }
    // Pseudo-random garbage with a valid identifier.
    let mut state = 0x1234_5678u32;
    for _ in 0..50 {
        let mut bytes: Vec<u8> = (0..4096)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 17;
                state ^= state << 5;
                state as u8
            })
            .collect();
        bytes[4..8].copy_from_slice(b"TFL3");
        assert!(Interpreter::new(&bytes).is_err());
    }
}

#[test]
fn every_truncation_is_an_error() {
    let model = SELFIE_SEGMENTATION_LANDSCAPE;
    let mut checked = 0;
    let mut len = 0;
    while len < model.len() {
        let r = Interpreter::new(&model[..len]);
        assert!(r.is_err(), "truncated to {len} bytes was accepted");
        checked += 1;
        len += 1 + len / 16;
    }
    assert!(checked > 50);
    assert!(SegmentationModel::from_bytes(&model[..model.len() / 2]).is_err());
}

#[test]
fn corrupted_bytes_never_panic() {
    let mut state = 0x9e37_79b9u32;
    for _ in 0..300 {
        let mut bytes = SELFIE_SEGMENTATION_LANDSCAPE.to_vec();
        for _ in 0..4 {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            // The flatbuffer tables sit at the end; hit them more often.
            let pos = if state.is_multiple_of(2) {
                (state as usize >> 8) % bytes.len()
            } else {
                bytes.len() - 1 - (state as usize >> 8) % 40_000
            };
            bytes[pos] = (state >> 3) as u8;
        }
        // Ok or Err are both fine; a panic fails the test.
        if let Ok(mut interp) = Interpreter::new(&bytes) {
            interp.invoke();
        }
    }
}

#[test]
fn unknown_custom_op_is_unsupported() {
    let mut bytes = SELFIE_SEGMENTATION_LANDSCAPE.to_vec();
    let name = b"Convolution2DTransposeBias";
    let pos = bytes.windows(name.len()).position(|w| w == name).unwrap();
    bytes[pos + name.len() - 1] = b'X';
    match Interpreter::new(&bytes) {
        Err(EffectsError::UnsupportedModel(msg)) => {
            assert!(msg.contains("Convolution2DTransposeBiaX"), "{msg}")
        }
        other => panic!("expected UnsupportedModel, got {other:?}"),
    }
}
