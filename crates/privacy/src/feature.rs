//! Consents that are not operating-system permissions: what a feature does
//! with personal data beyond the privacy policy's baseline. Each is a toggle
//! in Settings, recorded in the same ledger as the permission answers.

use crate::Language;

/// A feature whose use of personal data the user decides on separately.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FeatureConsent {
    /// Beauty analyses the face in the camera picture (on the device only).
    BeautyFaceProcessing,
    /// The user's own photos kept by the app as virtual backgrounds.
    CustomBackgrounds,
    /// Meeting codes the user scanned, kept so they can be joined again.
    ScanHistory,
    /// Sending the app's logs to a support address, only when asked to.
    LogUpload,
    /// Putting meetings the user scheduled into their calendar. On desktop
    /// that is an .ics file in Downloads for the calendar app to import; it
    /// is the calendar use Appendix II describes (see `appendix_feature`).
    Calendar,
}

impl FeatureConsent {
    pub const ALL: [FeatureConsent; 5] = [
        Self::BeautyFaceProcessing,
        Self::CustomBackgrounds,
        Self::ScanHistory,
        Self::LogUpload,
        Self::Calendar,
    ];

    /// The name the UI uses; the ledger subject is `feature:<id>`.
    pub fn id(self) -> &'static str {
        match self {
            Self::BeautyFaceProcessing => "beauty",
            Self::CustomBackgrounds => "custom-backgrounds",
            Self::ScanHistory => "scan-history",
            Self::LogUpload => "log-upload",
            Self::Calendar => "calendar",
        }
    }

    /// The feature name Appendix II's entries (permissions/appendix-ii.json)
    /// give for this use, where it is one an operating system asks about:
    /// the calendar permissions on phones and the calendar entitlement on
    /// macOS serve "calendar".
    pub fn appendix_feature(self) -> Option<&'static str> {
        match self {
            Self::Calendar => Some("calendar"),
            Self::BeautyFaceProcessing => Some("beauty"),
            Self::CustomBackgrounds => Some("custom-background"),
            Self::ScanHistory | Self::LogUpload => None,
        }
    }

    pub fn from_id(id: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|f| f.id() == id)
    }

    pub(crate) fn subject(self) -> String {
        format!("feature:{}", self.id())
    }

    pub fn title(self, language: Language) -> &'static str {
        let (english, chinese) = match self {
            Self::BeautyFaceProcessing => ("Beauty face processing", "美颜面部处理"),
            Self::CustomBackgrounds => ("Your own background photos", "您自己的背景照片"),
            Self::ScanHistory => ("Scan history", "扫码记录"),
            Self::LogUpload => ("Log upload", "上传日志"),
            Self::Calendar => ("Add meetings to your calendar", "将会议添加到日历"),
        };
        language.pick(english, chinese)
    }

    /// What turning it on means, in the words the user reads before deciding.
    pub fn explanation(self, language: Language) -> &'static str {
        let (english, chinese) = match self {
            Self::BeautyFaceProcessing => (
                "Beauty smooths and brightens the skin in your camera picture. It is computed on this device only; no picture of your face leaves it for this.",
                "美颜会磨皮并提亮摄像头画面中的肤色。它仅在本设备上计算，您的面部画面不会为此离开本设备。",
            ),
            Self::CustomBackgrounds => (
                "Photos you choose as your virtual background are copied into the app's own storage on this device, until you remove them or withdraw consent.",
                "您选作虚拟背景的照片会被复制到本设备上应用自己的存储中，直到您删除它们或撤回同意。",
            ),
            Self::ScanHistory => (
                "Meeting codes you scan are kept on this device so you can join those meetings again.",
                "您扫描的会议二维码会保存在本设备上，方便您再次加入这些会议。",
            ),
            Self::LogUpload => (
                "Lets you send the app's logs (no names, no meeting contents) to the support address in Settings, each time only when you press Upload.",
                "允许您将应用日志（不含姓名和会议内容）发送到“设置”中的支持地址，每次仅在您按下“上传”时发送。",
            ),
            Self::Calendar => (
                "To schedule and remind you of meetings, \"Add to calendar\" saves a meeting you scheduled (its title, time and link, PIN included) as a calendar file in your Downloads folder, for your calendar app to import. TalkLine does not read your calendar.",
                "为了安排会议并提醒您，“添加到日历”会把您预约的会议（标题、时间和链接，包括会议密码）保存为“下载”文件夹中的日历文件，供您的日历应用导入。TalkLine 不会读取您的日历。",
            ),
        };
        language.pick(english, chinese)
    }

    /// The answer assumed before the user touched the toggle. Keeping scan
    /// records is part of the accepted policy; everything else waits for a
    /// yes.
    pub fn default_granted(self) -> bool {
        matches!(self, Self::ScanHistory)
    }
}
