//! The one path every feature goes through before it touches the camera,
//! the microphone, photos, the calendar or the network: the consent ledger.
//! Answers are kept in the encrypted store, so the user is asked once per
//! capability (and again only when they change their mind in Settings).

use talkline_store::{ConsentRecord, Store, StoreError};

use crate::Language;
use crate::feature::FeatureConsent;
use crate::policy::PrivacyPolicy;
use crate::registry::PermissionRegistry;

/// What a feature wants to use, named after the Appendix II entry that
/// gives its purpose.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Capability {
    Camera,
    Microphone,
    PhotoLibrary,
    Calendar,
    LocalNetwork,
}

impl Capability {
    pub const ALL: [Capability; 5] = [
        Self::Camera,
        Self::Microphone,
        Self::PhotoLibrary,
        Self::Calendar,
        Self::LocalNetwork,
    ];

    /// The Appendix II (iOS) key whose description and purpose are shown.
    pub fn appendix_key(self) -> &'static str {
        match self {
            Self::Camera => "NSCameraUsageDescription",
            Self::Microphone => "NSMicrophoneUsageDescription",
            Self::PhotoLibrary => "NSPhotoLibraryUsageDescription",
            Self::Calendar => "NSCalendarsUsageDescription",
            Self::LocalNetwork => "NSLocalNetworkUsageDescription",
        }
    }

    /// The ledger subject and the name the UI uses.
    pub fn id(self) -> &'static str {
        match self {
            Self::Camera => "camera",
            Self::Microphone => "microphone",
            Self::PhotoLibrary => "photos",
            Self::Calendar => "calendar",
            Self::LocalNetwork => "local-network",
        }
    }

    pub fn from_id(id: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.id() == id)
    }
}

/// One toggle in Settings' privacy section.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrivacyChoice {
    pub id: &'static str,
    pub kind: ChoiceKind,
    pub title: String,
    pub explanation: String,
    /// `None`: a permission never asked for yet.
    pub granted: Option<bool>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChoiceKind {
    /// An operating-system permission of Appendix II.
    Permission,
    /// A feature's own use of personal data.
    Feature,
}

/// The subject under which acceptance of the privacy policy is recorded.
pub const POLICY_SUBJECT: &str = "privacy-policy";

/// What to show the user before asking: Appendix II's words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsentRequest {
    pub capability: Capability,
    pub title: String,
    pub purpose: String,
}

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConsentError {
    #[error("{} needs your permission: {}", .0.title, .0.purpose)]
    NotAsked(ConsentRequest),
    #[error("you turned off {0}; turn it on in Settings to use it")]
    Denied(&'static str),
    #[error("the privacy policy has not been accepted")]
    PolicyNotAccepted,
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl crate::Translated for ConsentError {
    fn chinese(&self) -> String {
        match self {
            // The request was built in the language in force.
            Self::NotAsked(request) => {
                format!("{}需要您的许可：{}", request.title, request.purpose)
            }
            Self::Denied(id) => {
                let name = match Capability::from_id(id) {
                    Some(Capability::Camera) => "摄像头",
                    Some(Capability::Microphone) => "麦克风",
                    Some(Capability::PhotoLibrary) => "照片",
                    Some(Capability::Calendar) => "日历",
                    Some(Capability::LocalNetwork) => "本地网络",
                    None => id,
                };
                format!("您已关闭{name}；请在设置中打开后再使用")
            }
            Self::PolicyNotAccepted => "尚未接受隐私政策".into(),
            Self::Store(e) => e.chinese(),
        }
    }
}

/// The answers given so far, read from and written to the store.
pub struct ConsentLedger<'a> {
    store: &'a Store,
    registry: &'a PermissionRegistry,
    policy: &'a PrivacyPolicy,
    /// The language of the texts the user reads (what is asked, the choices).
    language: Language,
}

fn now_unix() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

impl<'a> ConsentLedger<'a> {
    pub fn new(
        store: &'a Store,
        registry: &'a PermissionRegistry,
        policy: &'a PrivacyPolicy,
    ) -> Self {
        Self {
            store,
            registry,
            policy,
            language: Language::English,
        }
    }

    /// The same ledger, its texts in `language`.
    pub fn speaking(self, language: Language) -> Self {
        Self { language, ..self }
    }

    /// True once the current version of the policy was accepted.
    pub fn policy_accepted(&self) -> Result<bool, StoreError> {
        Ok(self
            .store
            .consent(POLICY_SUBJECT)?
            .is_some_and(|r| r.granted && r.policy_version == self.policy.version_tag()))
    }

    pub fn record_policy(&self, accepted: bool) -> Result<(), StoreError> {
        self.store.record_consent(&ConsentRecord {
            subject: POLICY_SUBJECT.into(),
            granted: accepted,
            policy_version: self.policy.version_tag(),
            decided_at: now_unix(),
        })
    }

    pub fn request_for(&self, capability: Capability) -> ConsentRequest {
        let entry = self.registry.ios(capability.appendix_key());
        ConsentRequest {
            capability,
            title: entry.map_or_else(
                || capability.id().into(),
                |e| e.description_in(self.language).into(),
            ),
            purpose: entry.map_or_else(String::new, |e| e.purpose_in(self.language).into()),
        }
    }

    /// Ok when the user said yes; otherwise what to ask, or that they said no.
    pub fn require(&self, capability: Capability) -> Result<(), ConsentError> {
        if !self.policy_accepted()? {
            return Err(ConsentError::PolicyNotAccepted);
        }
        match self.store.consent(capability.id())? {
            Some(r) if r.granted => Ok(()),
            Some(_) => Err(ConsentError::Denied(capability.id())),
            None => Err(ConsentError::NotAsked(self.request_for(capability))),
        }
    }

    pub fn answer(&self, capability: Capability, granted: bool) -> Result<(), StoreError> {
        self.store.record_consent(&ConsentRecord {
            subject: capability.id().into(),
            granted,
            policy_version: self.policy.version_tag(),
            decided_at: now_unix(),
        })
    }

    /// Each capability and the latest answer (None: never asked).
    /// Whether the user agreed to what `feature` does (or, never asked,
    /// its default).
    pub fn feature_granted(&self, feature: FeatureConsent) -> Result<bool, ConsentError> {
        if !self.policy_accepted()? {
            return Err(ConsentError::PolicyNotAccepted);
        }
        Ok(self
            .store
            .consent(&feature.subject())?
            .map_or(feature.default_granted(), |r| r.granted))
    }

    pub fn set_feature(&self, feature: FeatureConsent, granted: bool) -> Result<(), StoreError> {
        self.store.record_consent(&ConsentRecord {
            subject: feature.subject(),
            granted,
            policy_version: self.policy.version_tag(),
            decided_at: now_unix(),
        })
    }

    /// Every toggle Settings shows: the permissions, then the features.
    pub fn choices(&self) -> Result<Vec<PrivacyChoice>, ConsentError> {
        let mut all = Vec::new();
        for capability in Capability::ALL {
            let request = self.request_for(capability);
            all.push(PrivacyChoice {
                id: capability.id(),
                kind: ChoiceKind::Permission,
                title: request.title,
                explanation: request.purpose,
                granted: self.store.consent(capability.id())?.map(|r| r.granted),
            });
        }
        for feature in FeatureConsent::ALL {
            all.push(PrivacyChoice {
                id: feature.id(),
                kind: ChoiceKind::Feature,
                title: feature.title(self.language).into(),
                explanation: feature.explanation(self.language).into(),
                granted: Some(self.feature_granted(feature)?),
            });
        }
        Ok(all)
    }

    pub fn answers(&self) -> Result<Vec<(Capability, Option<bool>)>, StoreError> {
        Capability::ALL
            .into_iter()
            .map(|c| Ok((c, self.store.consent(c.id())?.map(|r| r.granted))))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use talkline_store::DatabaseKey;

    /// A fresh store with the built-in registry and the current policy.
    struct Fixture {
        store: Store,
        registry: PermissionRegistry,
        policy: PrivacyPolicy,
    }

    impl Fixture {
        fn new() -> Self {
            Self {
                store: store(&tempdir()),
                registry: PermissionRegistry::builtin().expect("registry"),
                policy: PrivacyPolicy::current(),
            }
        }

        fn ledger(&self) -> ConsentLedger<'_> {
            ConsentLedger::new(&self.store, &self.registry, &self.policy)
        }
    }

    fn store(dir: &std::path::Path) -> Store {
        Store::open(&dir.join("t.db"), &DatabaseKey::random()).expect("store")
    }

    #[test]
    fn nothing_is_granted_before_the_policy_and_the_question() {
        let fixture = Fixture::new();
        let ledger = fixture.ledger();
        assert!(matches!(
            ledger.require(Capability::Camera),
            Err(ConsentError::PolicyNotAccepted)
        ));
        ledger.record_policy(true).expect("record");
        let Err(ConsentError::NotAsked(request)) = ledger.require(Capability::Camera) else {
            panic!("camera must be asked for first");
        };
        assert_eq!(request.title, "Using the camera");
        assert!(request.purpose.starts_with("For video conferencing"));
        ledger.answer(Capability::Camera, false).expect("answer");
        assert!(matches!(
            ledger.require(Capability::Camera),
            Err(ConsentError::Denied("camera"))
        ));
        ledger.answer(Capability::Camera, true).expect("answer");
        ledger.require(Capability::Camera).expect("granted now");
        assert!(matches!(
            ledger.require(Capability::Microphone),
            Err(ConsentError::NotAsked(_))
        ));
    }

    #[test]
    fn feature_consents_default_off_except_scan_history_and_follow_the_toggle() {
        let fixture = Fixture::new();
        let ledger = fixture.ledger();
        assert!(matches!(
            ledger.feature_granted(FeatureConsent::BeautyFaceProcessing),
            Err(ConsentError::PolicyNotAccepted)
        ));
        ledger.record_policy(true).expect("accept");
        let granted = |f| ledger.feature_granted(f).expect("read");
        assert!(!granted(FeatureConsent::BeautyFaceProcessing));
        assert!(!granted(FeatureConsent::LogUpload));
        assert!(granted(FeatureConsent::ScanHistory));
        ledger
            .set_feature(FeatureConsent::BeautyFaceProcessing, true)
            .expect("on");
        ledger
            .set_feature(FeatureConsent::ScanHistory, false)
            .expect("off");
        assert!(granted(FeatureConsent::BeautyFaceProcessing));
        assert!(!granted(FeatureConsent::ScanHistory));
        let choices = ledger.choices().expect("choices");
        assert_eq!(
            choices.len(),
            Capability::ALL.len() + FeatureConsent::ALL.len()
        );
        let camera = choices.iter().find(|c| c.id == "camera").expect("camera");
        assert_eq!(
            (camera.kind, camera.granted),
            (ChoiceKind::Permission, None)
        );
        assert!(camera.explanation.starts_with("For video conferencing"));
        let beauty = choices.iter().find(|c| c.id == "beauty").expect("beauty");
        assert_eq!(
            (beauty.kind, beauty.granted),
            (ChoiceKind::Feature, Some(true))
        );
    }

    #[test]
    fn a_new_policy_version_must_be_accepted_again() {
        let dir = tempdir();
        let store = store(&dir);
        let registry = PermissionRegistry::builtin().expect("registry");
        let v1 = PrivacyPolicy::parse("<!-- policy-version: 1 -->\n# P\nx").expect("v1");
        let v2 = PrivacyPolicy::parse("<!-- policy-version: 2 -->\n# P\ny").expect("v2");
        ConsentLedger::new(&store, &registry, &v1)
            .record_policy(true)
            .expect("accept v1");
        assert!(
            ConsentLedger::new(&store, &registry, &v1)
                .policy_accepted()
                .expect("read")
        );
        assert!(
            !ConsentLedger::new(&store, &registry, &v2)
                .policy_accepted()
                .expect("read")
        );
    }

    #[test]
    fn every_capability_has_its_appendix_entry() {
        let registry = PermissionRegistry::builtin().expect("registry");
        for c in Capability::ALL {
            let entry = registry.ios(c.appendix_key()).expect("in Appendix II");
            assert!(
                entry.requested,
                "{c:?} is asked for, so it must be requested"
            );
            assert_eq!(Capability::from_id(c.id()), Some(c));
        }
    }

    #[test]
    fn feature_consents_name_the_appendix_entries_they_stand_for() {
        let registry = PermissionRegistry::builtin().expect("registry");
        for feature in FeatureConsent::ALL {
            let Some(name) = feature.appendix_feature() else {
                continue;
            };
            assert!(
                crate::registry::FEATURES.contains(&name),
                "{feature:?}: {name:?} is not an Appendix II feature"
            );
            let serves = |features: &[String], requested: bool| {
                requested && features.iter().any(|f| f == name)
            };
            assert!(
                registry
                    .ios
                    .iter()
                    .any(|e| serves(&e.features, e.requested)),
                "{feature:?}: no requested iOS entry serves {name:?}"
            );
            assert!(
                registry
                    .android
                    .iter()
                    .any(|e| serves(&e.features, e.requested)),
                "{feature:?}: no requested Android entry serves {name:?}"
            );
        }
        // The calendar consent is the calendar permission's use.
        let calendar = registry
            .ios(Capability::Calendar.appendix_key())
            .expect("calendar entry");
        assert!(calendar.features.iter().any(|f| f == "calendar"));
        assert_eq!(
            FeatureConsent::Calendar.appendix_feature(),
            Some("calendar")
        );
        assert!(!FeatureConsent::Calendar.default_granted());
        assert_eq!(
            FeatureConsent::from_id("calendar"),
            Some(FeatureConsent::Calendar)
        );
    }

    fn tempdir() -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!(
            "talkline-consent-{}-{}",
            std::process::id(),
            rand_suffix()
        ));
        // A process of the same id long gone may have left one, its
        // database under another key: start empty.
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("temp dir");
        dir
    }

    fn rand_suffix() -> u64 {
        use std::sync::atomic::{AtomicU64, Ordering};
        static N: AtomicU64 = AtomicU64::new(0);
        N.fetch_add(1, Ordering::Relaxed)
    }
}
