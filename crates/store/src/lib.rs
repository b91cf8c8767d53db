//! TalkLine's local data: meeting history, schedules, scan records, settings
//! and the consent ledger, in one SQLCipher database. The key is random,
//! created at first start and kept in the OS keyring (see `KeyVault`).
//!
//! Nothing here ever recreates a database it cannot open: a wrong or missing
//! key, a corrupt or locked file is an error that says so, and moving a bad
//! file aside is an explicit call (`quarantine`).

mod error;
mod key;
mod schema;
mod store;

pub use error::StoreError;
pub use key::{DatabaseKey, KeyVault, KeyringVault, MemoryVault};
pub use store::{
    ConsentRecord, HostedRecord, MeetingRecord, RecordingRecord, ScanRecord, ScheduleRecord, Store,
    quarantine, wipe,
};
