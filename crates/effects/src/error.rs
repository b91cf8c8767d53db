/// Everything that can go wrong in this crate.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum EffectsError {
    /// The model bytes are not a well-formed TFLite flatbuffer.
    #[error("malformed model file: {0}")]
    MalformedModel(String),
    /// A well-formed model that uses an operator or layout we do not run.
    #[error("unsupported model: {0}")]
    UnsupportedModel(String),
    /// Frame dimensions, strides or plane sizes that do not fit together.
    #[error("invalid frame: {0}")]
    InvalidFrame(String),
    /// A background image whose buffer does not match its dimensions.
    #[error("invalid background image: {0}")]
    InvalidImage(String),
}

impl talkline_language::Translated for EffectsError {
    fn chinese(&self) -> String {
        match self {
            Self::MalformedModel(why) => format!("模型文件格式错误：{why}"),
            Self::UnsupportedModel(why) => format!("不支持的模型：{why}"),
            Self::InvalidFrame(why) => format!("画面无效：{why}"),
            Self::InvalidImage(why) => format!("背景图片无效：{why}"),
        }
    }
}

pub type Result<T> = std::result::Result<T, EffectsError>;
