//! The admin token: from config, or generated once into a 0600 file next to the data.

use std::io::Write;
use std::path::PathBuf;

use rand::RngCore;

use crate::config::AuthConfig;

/// Where the admin token in use came from (logged at start so operators can find it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AdminTokenSource {
    Config,
    File(PathBuf),
    Generated(PathBuf),
}

/// Returns `auth.admin_token` if set; otherwise the token in `auth.admin_token_file`,
/// creating that file (mode 0600, random 256-bit hex token) on first use.
pub fn load_or_generate(auth: &AuthConfig) -> std::io::Result<(String, AdminTokenSource)> {
    if let Some(t) = &auth.admin_token {
        return Ok((t.clone(), AdminTokenSource::Config));
    }
    let path = &auth.admin_token_file;
    match std::fs::read_to_string(path) {
        Ok(t) if t.trim().len() >= 16 => {
            return Ok((t.trim().to_string(), AdminTokenSource::File(path.clone())));
        }
        Ok(_) => {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                format!(
                    "{} holds no token of at least 16 characters",
                    path.display()
                ),
            ));
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(e),
    }
    if let Some(dir) = path.parent()
        && !dir.as_os_str().is_empty()
    {
        std::fs::create_dir_all(dir)?;
    }
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    let token = hex::encode(bytes);
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(path)?;
    file.write_all(token.as_bytes())?;
    file.write_all(b"\n")?;
    Ok((token, AdminTokenSource::Generated(path.clone())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generates_once_with_private_mode_then_reuses() {
        let dir = tempfile::tempdir().unwrap();
        let auth = AuthConfig {
            admin_token: None,
            admin_token_file: dir.path().join("sub/admin-token"),
        };
        let (t1, s1) = load_or_generate(&auth).unwrap();
        assert_eq!(
            s1,
            AdminTokenSource::Generated(auth.admin_token_file.clone())
        );
        assert_eq!(t1.len(), 64);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&auth.admin_token_file)
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let (t2, s2) = load_or_generate(&auth).unwrap();
        assert_eq!(
            (t2, s2),
            (t1, AdminTokenSource::File(auth.admin_token_file.clone()))
        );
        let configured = AuthConfig {
            admin_token: Some("configured-token-123".into()),
            ..auth
        };
        assert_eq!(
            load_or_generate(&configured).unwrap().1,
            AdminTokenSource::Config
        );
    }
}
