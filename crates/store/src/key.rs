//! The database key and where it is kept.

use std::sync::Mutex;

use crate::error::StoreError;

/// 256 random bits, used as SQLCipher's raw key (no passphrase derivation).
#[derive(Clone, PartialEq, Eq)]
pub struct DatabaseKey([u8; 32]);

impl std::fmt::Debug for DatabaseKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DatabaseKey(…)")
    }
}

impl DatabaseKey {
    pub fn random() -> Self {
        Self(rand::random())
    }

    pub fn to_hex(&self) -> String {
        self.0.iter().map(|b| format!("{b:02x}")).collect()
    }

    pub fn from_hex(text: &str) -> Option<Self> {
        let text = text.trim();
        if text.len() != 64 || !text.is_ascii() {
            return None;
        }
        let mut key = [0u8; 32];
        for (i, byte) in key.iter_mut().enumerate() {
            *byte = u8::from_str_radix(&text[2 * i..2 * i + 2], 16).ok()?;
        }
        Some(Self(key))
    }

    /// The `PRAGMA key` value for a raw key.
    pub(crate) fn pragma(&self) -> String {
        format!("\"x'{}'\"", self.to_hex())
    }
}

/// Where the database key lives: the OS keyring in the app, memory in tests.
pub trait KeyVault: Send + Sync {
    fn load(&self) -> Result<Option<DatabaseKey>, StoreError>;
    fn save(&self, key: &DatabaseKey) -> Result<(), StoreError>;
    fn delete(&self) -> Result<(), StoreError>;
}

/// The OS keyring: Secret Service on Linux and BSD, Keychain on macOS,
/// Credential Manager on Windows.
#[derive(Debug, Clone)]
pub struct KeyringVault {
    service: String,
    user: String,
}

impl KeyringVault {
    /// The entry TalkLine keeps its database key in.
    pub fn talkline() -> Self {
        Self::new("talkline", "database-key")
    }

    pub fn new(service: &str, user: &str) -> Self {
        Self {
            service: service.into(),
            user: user.into(),
        }
    }

    fn entry(&self) -> Result<keyring::Entry, StoreError> {
        keyring::Entry::new(&self.service, &self.user).map_err(unavailable)
    }
}

fn unavailable(e: keyring::Error) -> StoreError {
    StoreError::KeyringUnavailable(e.to_string())
}

impl KeyVault for KeyringVault {
    fn load(&self) -> Result<Option<DatabaseKey>, StoreError> {
        match self.entry()?.get_password() {
            Ok(hex) => DatabaseKey::from_hex(&hex).map(Some).ok_or_else(|| {
                StoreError::KeyringUnavailable("the stored database key is malformed".into())
            }),
            Err(keyring::Error::NoEntry) => Ok(None),
            Err(e) => Err(unavailable(e)),
        }
    }

    fn save(&self, key: &DatabaseKey) -> Result<(), StoreError> {
        self.entry()?
            .set_password(&key.to_hex())
            .map_err(unavailable)
    }

    fn delete(&self) -> Result<(), StoreError> {
        match self.entry()?.delete_credential() {
            Ok(()) | Err(keyring::Error::NoEntry) => Ok(()),
            Err(e) => Err(unavailable(e)),
        }
    }
}

/// A vault in memory, for tests and for platforms without a keyring.
#[derive(Debug, Default)]
pub struct MemoryVault(Mutex<Option<DatabaseKey>>);

impl KeyVault for MemoryVault {
    fn load(&self) -> Result<Option<DatabaseKey>, StoreError> {
        Ok(self
            .0
            .lock()
            .map_err(|_| StoreError::KeyringUnavailable("poisoned".into()))?
            .clone())
    }
    fn save(&self, key: &DatabaseKey) -> Result<(), StoreError> {
        *self
            .0
            .lock()
            .map_err(|_| StoreError::KeyringUnavailable("poisoned".into()))? = Some(key.clone());
        Ok(())
    }
    fn delete(&self) -> Result<(), StoreError> {
        *self
            .0
            .lock()
            .map_err(|_| StoreError::KeyringUnavailable("poisoned".into()))? = None;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_round_trip_and_rejects() {
        let k = DatabaseKey::random();
        assert_eq!(DatabaseKey::from_hex(&k.to_hex()), Some(k.clone()));
        assert_ne!(DatabaseKey::random(), k);
        for bad in ["", "00", &"zz".repeat(32), &"0".repeat(63), &"é".repeat(32)] {
            assert_eq!(DatabaseKey::from_hex(bad), None, "{bad}");
        }
        assert_eq!(format!("{k:?}"), "DatabaseKey(…)");
    }
}
