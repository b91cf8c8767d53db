//! How a simulcast publisher shares its video budget between its three
//! encodings (full, half and quarter size).
//!
//! The smallest first: every subscriber can fall back to it, and a gallery
//! asks for nothing else. Then half size, then full size with whatever is
//! left, up to the user's setting. A layer whose share would not carry its
//! picture (the same kbps per megapixel a single stream steps down at) is
//! not sent at all: Janus relays the next one down to whoever asked for
//! it, which beats a smeared large picture. A layer comes back only with a
//! margin over that floor, so an estimate hovering there does not flip it.

use super::{FULL_SIZE_KBPS_PER_MEGAPIXEL, MIN_VIDEO_KBPS, STEP_UP_MARGIN};

/// Each encoding's size, as a divisor of the camera's: full, half, quarter.
/// Index 0 is the largest, as the encodings are offered.
pub const LAYER_DIVISORS: [u32; 3] = [1, 2, 4];

/// A smaller encoding narrower than this is not sent: a 640-wide camera
/// still has all three (640, 320, 160), a 320-wide one two.
const MIN_LAYER_WIDTH: u32 = 160;

/// The smaller layers are sharp at twice their floor; more buys little
/// at 320x180 or 160x90 and is better spent on the full size.
const SMALLER_LAYER_CAP_OF_FLOOR: u32 = 2;

/// What each encoding may send now, kbps, largest first; `None`: not sent.
pub type LayerRates = [Option<u32>; 3];

#[derive(Debug)]
pub struct LayerAllocation {
    /// The most the user's settings allow for the full-size layer.
    top_max_kbps: u32,
    native_size: (u32, u32),
    /// Which layers are sent now (for the margin to come back).
    sending: [bool; 3],
}

impl LayerAllocation {
    pub fn new(top_max_kbps: u32, native_size: (u32, u32)) -> Self {
        Self {
            top_max_kbps: top_max_kbps.max(MIN_VIDEO_KBPS),
            native_size,
            sending: [true; 3],
        }
    }

    /// A new camera's size: every layer is measured against it.
    pub fn set_native_size(&mut self, width: u32, height: u32) {
        self.native_size = (width, height);
    }

    /// Whether encoding `index` exists at all for this camera.
    pub fn exists(&self, index: usize) -> bool {
        index == 0 || self.native_size.0 / LAYER_DIVISORS[index] >= MIN_LAYER_WIDTH
    }

    /// The least a layer is sent with.
    fn floor_kbps(&self, index: usize) -> u32 {
        let (w, h) = self.native_size;
        let d = f64::from(LAYER_DIVISORS[index]);
        let megapixels = f64::from(w) / d * f64::from(h) / d / 1e6;
        let floor =
            ((megapixels * FULL_SIZE_KBPS_PER_MEGAPIXEL).round() as u32).max(MIN_VIDEO_KBPS);
        // A large camera under a modest setting still sends every size:
        // each layer's floor is at most half its share of the setting (by
        // pixels), so the smaller ones never crowd out the full size.
        let share = self.top_max_kbps / (LAYER_DIVISORS[index] * LAYER_DIVISORS[index]);
        floor.min(share / 2).max(MIN_VIDEO_KBPS)
    }

    /// The most a layer is given: the setting for the full size; for a
    /// smaller one twice its floor, within its share of the setting.
    fn cap_kbps(&self, index: usize) -> u32 {
        if index == 0 {
            return self.top_max_kbps;
        }
        let share = self.top_max_kbps / (LAYER_DIVISORS[index] * LAYER_DIVISORS[index]);
        (self.floor_kbps(index) * SMALLER_LAYER_CAP_OF_FLOOR)
            .min(share)
            .max(MIN_VIDEO_KBPS)
    }

    /// All layers at their most: what the rate controller may give in all.
    pub fn total_max_kbps(&self) -> u32 {
        (0..3)
            .filter(|&i| self.exists(i))
            .map(|i| self.cap_kbps(i))
            .sum()
    }

    /// Shares `budget_kbps` (the whole video budget) between the layers.
    pub fn allocate(&mut self, budget_kbps: u32) -> LayerRates {
        let mut rates = [None; 3];
        let mut left = budget_kbps;
        // The smallest layer that exists is always sent, with what there is.
        let Some(smallest) = (0..3).rev().find(|&i| self.exists(i)) else {
            return rates;
        };
        for index in (0..=smallest).rev() {
            let floor = self.floor_kbps(index);
            let needed = if self.sending[index] {
                floor
            } else {
                (f64::from(floor) * STEP_UP_MARGIN) as u32
            };
            let send = index == smallest || left >= needed;
            // A layer that cannot be sent leaves the larger ones nothing.
            if !send {
                for i in (0..=index).rev() {
                    self.sending[i] = false;
                }
                break;
            }
            let kbps = left.min(self.cap_kbps(index)).max(MIN_VIDEO_KBPS);
            rates[index] = Some(kbps);
            self.sending[index] = true;
            left = left.saturating_sub(kbps);
        }
        rates
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_wide_path_sends_every_layer_the_small_ones_at_their_cap() {
        let mut a = LayerAllocation::new(800, (640, 360));
        // 320x180: 75 kbps floor, 150 cap; 160x90: the 60 kbps minimum,
        // which is also its share of the setting (800/16).
        assert_eq!(a.total_max_kbps(), 800 + 150 + 60);
        assert_eq!(a.allocate(2000), [Some(800), Some(150), Some(60)]);
        assert_eq!(a.allocate(700), [Some(490), Some(150), Some(60)]);
    }

    #[test]
    fn a_squeezed_path_drops_the_largest_layer_first_and_takes_it_back_with_a_margin() {
        let mut a = LayerAllocation::new(800, (640, 360));
        assert!(a.allocate(1000)[0].is_some());
        // Full size needs 300 kbps (1300 per megapixel) of its own.
        assert_eq!(a.allocate(500), [None, Some(150), Some(60)]);
        // Over the floor but under the margin: stays off.
        assert_eq!(a.allocate(560), [None, Some(150), Some(60)]);
        assert_eq!(a.allocate(600), [Some(390), Some(150), Some(60)]);
        // Down to the smallest, then only it, with all there is.
        assert_eq!(a.allocate(150), [None, Some(90), Some(60)]);
        assert_eq!(a.allocate(100), [None, None, Some(60)]);
        assert_eq!(a.allocate(40), [None, None, Some(60)]);
        // Half size comes back with its margin (75 x 1.25 after 60).
        assert_eq!(a.allocate(150), [None, None, Some(60)]);
        assert_eq!(a.allocate(155), [None, Some(95), Some(60)]);
    }

    #[test]
    fn a_small_camera_has_fewer_layers() {
        let mut a = LayerAllocation::new(500, (320, 180));
        assert!(a.exists(1) && !a.exists(2));
        assert_eq!(a.allocate(5000), [Some(500), Some(120), None]);
        let mut a = LayerAllocation::new(500, (200, 120));
        assert_eq!(a.allocate(5000), [Some(500), None, None]);
        assert_eq!(a.allocate(10), [Some(60), None, None]);
    }

    #[test]
    fn a_large_camera_under_a_modest_setting_still_sends_full_size() {
        let mut a = LayerAllocation::new(1000, (1280, 720));
        // 1280x720 needs 1200 kbps by the megapixel rule, half the setting here.
        assert_eq!(a.floor_kbps(0), 500);
        // Half size (300 by the rule) within its share: a quarter of 1000.
        assert_eq!((a.floor_kbps(1), a.cap_kbps(1)), (125, 250));
        let rates = a.allocate(a.total_max_kbps());
        assert_eq!(rates, [Some(1000), Some(250), Some(62)]);
        // A 1080p camera at 800: the full size still comes first of the
        // big layers, the half size within its 200.
        let mut a = LayerAllocation::new(800, (1920, 1080));
        assert_eq!(a.allocate(1200), [Some(800), Some(200), Some(60)]);
    }
}
