//! TalkLine privacy: the operating-system permissions the app may ask for,
//! as data (`permissions/`, Appendix II of the privacy policy plus the
//! desktop equivalents), and the platform files generated from that data.

pub mod consent;
pub mod feature;
pub mod generate;
pub mod policy;
pub mod registry;

pub use consent::{
    Capability, ChoiceKind, ConsentError, ConsentLedger, ConsentRequest, PrivacyChoice,
};
pub use feature::FeatureConsent;
pub use policy::PrivacyPolicy;
pub use talkline_language::{Language, Translated};

pub use registry::{AndroidEntry, DesktopEntry, IosEntry, PermissionRegistry, RegistryError};
