//! Build script for `tcl-sys`.
//!
//! 1. Locate a `tclConfig.sh` (env `TCL_CONFIG`, then `/usr/lib/tcl8.6/tclConfig.sh`,
//!    then ask `tclsh` (or env `TCLSH`) where its library lives).
//! 2. Read `TCL_MAJOR_VERSION`, `TCL_INCLUDE_SPEC`, `TCL_STUB_LIB_PATH`/`TCL_STUB_LIB_SPEC`.
//!    Paths that do not exist are re-rooted under the ancestors of the config file, so an
//!    unpacked (relocated) Tcl such as `$PREFIX/usr/lib/tcl9.0/tclConfig.sh` works.
//! 3. Generate bindings with bindgen (types, constants, `tclStubsPtr`; no functions).
//! 4. Compile `src/shim.c` (C macros as functions) with `USE_TCL_STUBS`.
//! 5. Link the stub static library (never libtcl).

use std::collections::HashMap;
use std::env;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

fn main() {
    println!("cargo:rerun-if-env-changed=TCL_CONFIG");
    println!("cargo:rerun-if-env-changed=TCLSH");
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-changed=wrapper.h");
    println!("cargo:rerun-if-changed=src/shim.c");
    println!("cargo:rustc-check-cfg=cfg(tcl9)");

    let out_dir = PathBuf::from(env::var("OUT_DIR").unwrap());
    let config_path = find_tcl_config();
    let cfg = TclConfig::load(&config_path);

    let major: u32 = cfg
        .get("TCL_MAJOR_VERSION")
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| {
            fail(&format!(
                "no TCL_MAJOR_VERSION in {}",
                config_path.display()
            ))
        });
    let version = cfg.get("TCL_VERSION").unwrap_or_default();
    if major != 8 && major != 9 {
        fail(&format!("unsupported Tcl major version {major}"));
    }

    let includes = cfg.include_dirs();
    let (stub_dir, stub_name, stub_file) = cfg.stub_lib();

    // ---- cfg + metadata for dependents (DEP_TCL_*) ----
    if major == 9 {
        println!("cargo:rustc-cfg=tcl9");
    }
    println!("cargo:major={major}");
    println!("cargo:version={version}");
    println!("cargo:config={}", config_path.display());
    let inc_joined = env::join_paths(&includes).unwrap();
    println!("cargo:include={}", inc_joined.to_string_lossy());

    // ---- bindings ----
    let mut builder = bindgen::Builder::default()
        .header("wrapper.h")
        .clang_arg("-DUSE_TCL_STUBS=1")
        .allowlist_type("Tcl_.*")
        .allowlist_type("TclStubs")
        .allowlist_var("TCL_.*")
        .allowlist_var("tclStubsPtr")
        // Never emit `extern "C" fn Tcl_*`: with stubs, every call must go through
        // `tclStubsPtr`. A direct declaration would link against libtcl by name.
        .blocklist_function(".*")
        // Defined by hand in lib.rs (8.6.13's tcl.h has no Tcl_Size).
        .blocklist_type("Tcl_Size")
        .derive_default(true)
        .prepend_enum_name(false)
        .generate_comments(false)
        .layout_tests(false)
        .parse_callbacks(Box::new(bindgen::CargoCallbacks::new()));
    for inc in &includes {
        builder = builder.clang_arg(format!("-I{}", inc.display()));
    }
    let bindings = builder
        .generate()
        .unwrap_or_else(|e| fail(&format!("bindgen failed: {e}")));
    let text = bindings.to_string();
    // Defence in depth: an extern Tcl function would bypass the stubs table.
    if text.contains("pub fn Tcl") {
        fail("bindgen emitted an extern Tcl function; refusing (stubs only)");
    }
    fs::write(out_dir.join("bindings.rs"), text).unwrap();

    // ---- C shim for macro-only APIs ----
    let mut build = cc::Build::new();
    build
        .file("src/shim.c")
        .define("USE_TCL_STUBS", "1")
        .pic(true)
        .warnings(true);
    for inc in &includes {
        build.include(inc);
    }
    build.compile("tclsys_shim");

    // ---- stub library (after the shim: it resolves the shim's tclStubsPtr) ----
    // Copy it into OUT_DIR so we don't add a whole system/prefix lib dir (which may
    // hold a libc of its own) to the linker search path.
    let stub_out = out_dir.join("tclstub");
    fs::create_dir_all(&stub_out).unwrap();
    let local = stub_out.join(format!("lib{stub_name}.a"));
    fs::copy(&stub_file, &local).unwrap_or_else(|e| {
        fail(&format!("cannot copy {}: {e}", stub_file.display()));
    });
    println!("cargo:rerun-if-changed={}", stub_file.display());
    println!("cargo:rustc-link-search=native={}", stub_out.display());
    println!("cargo:rustc-link-lib=static={stub_name}");
    println!(
        "cargo:stub_lib={}",
        stub_dir.join(format!("lib{stub_name}.a")).display()
    );
}

fn fail(msg: &str) -> ! {
    panic!("tcl-sys: {msg}\n(set TCL_CONFIG=/path/to/tclConfig.sh to choose a Tcl)");
}

// ---------------------------------------------------------------------------
// Locating tclConfig.sh
// ---------------------------------------------------------------------------

fn find_tcl_config() -> PathBuf {
    if let Some(p) = env::var_os("TCL_CONFIG") {
        let p = PathBuf::from(p);
        let p = if p.is_dir() {
            p.join("tclConfig.sh")
        } else {
            p
        };
        if !p.is_file() {
            fail(&format!("TCL_CONFIG={} does not exist", p.display()));
        }
        return p;
    }
    let default = PathBuf::from("/usr/lib/tcl8.6/tclConfig.sh");
    if default.is_file() {
        return default;
    }
    if let Some(p) = ask_tclsh() {
        return p;
    }
    fail("could not find tclConfig.sh");
}

/// Ask a tclsh where it lives; look for tclConfig.sh in its lib dirs.
fn ask_tclsh() -> Option<PathBuf> {
    let tclsh = env::var("TCLSH").unwrap_or_else(|_| "tclsh".into());
    let script = "puts [info library]\n\
                  catch {puts [::tcl::pkgconfig get libdir,runtime]}\n\
                  catch {puts [::tcl::pkgconfig get libdir,install]}\n\
                  puts [file dirname [info nameofexecutable]]/../lib\n\
                  puts $tcl_version\n";
    let out = Command::new(&tclsh)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut child| {
            use std::io::Write;
            child.stdin.take().unwrap().write_all(script.as_bytes())?;
            child.wait_with_output()
        })
        .ok()?;
    let text = String::from_utf8_lossy(&out.stdout);
    let mut lines: Vec<&str> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    let ver = lines.pop()?.to_string();
    for dir in lines {
        let dir = Path::new(dir);
        for cand in [
            dir.join(format!("tcl{ver}")).join("tclConfig.sh"),
            dir.join("tclConfig.sh"),
            dir.join("..").join("tclConfig.sh"),
        ] {
            if cand.is_file() {
                return Some(cand);
            }
        }
    }
    None
}

// ---------------------------------------------------------------------------
// Parsing tclConfig.sh
// ---------------------------------------------------------------------------

struct TclConfig {
    /// The file the variables came from (after following `. other/tclConfig.sh`).
    file: PathBuf,
    vars: HashMap<String, String>,
}

impl TclConfig {
    fn load(path: &Path) -> TclConfig {
        let mut file = path.to_path_buf();
        // Debian's /usr/lib/tclX.Y/tclConfig.sh is a one-liner that sources the real
        // one (`. /usr/lib/`dpkg-architecture -qDEB_HOST_MULTIARCH`/tcl8.6/tclConfig.sh`).
        for _ in 0..4 {
            println!("cargo:rerun-if-changed={}", file.display());
            let text = fs::read_to_string(&file)
                .unwrap_or_else(|e| fail(&format!("cannot read {}: {e}", file.display())));
            let vars = parse_vars(&text);
            if vars.contains_key("TCL_MAJOR_VERSION") {
                return TclConfig { file, vars };
            }
            let sourced = text
                .lines()
                .map(str::trim)
                .find_map(|l| l.strip_prefix(". ").or_else(|| l.strip_prefix("source ")));
            let Some(sourced) = sourced else { break };
            file = resolve_sourced(sourced.trim(), &file).unwrap_or_else(|| {
                fail(&format!(
                    "cannot follow `. {sourced}` in {}",
                    file.display()
                ))
            });
        }
        fail(&format!("{} defines no TCL_MAJOR_VERSION", path.display()));
    }

    fn get(&self, key: &str) -> Option<String> {
        self.vars.get(key).cloned().filter(|v| !v.is_empty())
    }

    /// Map a path from the config to an existing one (see [`rebase`]).
    fn resolve(&self, p: &str) -> Option<PathBuf> {
        rebase(Path::new(p), &self.file)
    }

    fn include_dirs(&self) -> Vec<PathBuf> {
        let spec = self.get("TCL_INCLUDE_SPEC").unwrap_or_default();
        let mut dirs: Vec<PathBuf> = spec
            .split_whitespace()
            .filter_map(|t| t.strip_prefix("-I"))
            .filter_map(|d| self.resolve(d))
            .collect();
        if !dirs.iter().any(|d| d.join("tcl.h").is_file()) {
            // Fall back to $prefix/include and $prefix/include/tclX.Y.
            let prefix = self.get("TCL_PREFIX").unwrap_or_else(|| "/usr".into());
            let ver = self.get("TCL_VERSION").unwrap_or_default();
            for cand in [
                format!("{prefix}/include/tcl{ver}"),
                format!("{prefix}/include"),
            ] {
                if let Some(d) = self.resolve(&cand) {
                    if d.join("tcl.h").is_file() {
                        dirs.push(d);
                        break;
                    }
                }
            }
        }
        if !dirs.iter().any(|d| d.join("tcl.h").is_file()) {
            fail(&format!(
                "no tcl.h found via TCL_INCLUDE_SPEC='{spec}' ({})",
                self.file.display()
            ));
        }
        dirs
    }

    /// (directory, link name, file) of the stub library.
    fn stub_lib(&self) -> (PathBuf, String, PathBuf) {
        let mut candidates = Vec::new();
        if let Some(p) = self.get("TCL_STUB_LIB_PATH") {
            candidates.push(p);
        }
        for key in ["TCL_STUB_LIB_SPEC", "TCL_BUILD_STUB_LIB_SPEC"] {
            let spec = self.get(key).unwrap_or_default();
            let dirs: Vec<&str> = spec
                .split_whitespace()
                .filter_map(|t| t.strip_prefix("-L"))
                .collect();
            for name in spec.split_whitespace().filter_map(|t| t.strip_prefix("-l")) {
                for d in &dirs {
                    candidates.push(format!("{d}/lib{name}.a"));
                }
            }
        }
        if let Some(f) = self.get("TCL_STUB_LIB_FILE") {
            let prefix = self.get("TCL_EXEC_PREFIX").unwrap_or_else(|| "/usr".into());
            candidates.push(format!("{prefix}/lib/{f}"));
        }
        for c in &candidates {
            let Some(file) = self.resolve(c) else {
                continue;
            };
            let fname = file.file_name().unwrap().to_string_lossy().into_owned();
            let Some(name) = fname.strip_prefix("lib").and_then(|n| n.strip_suffix(".a")) else {
                continue;
            };
            let dir = file.parent().unwrap().to_path_buf();
            return (dir, name.to_string(), file);
        }
        fail(&format!(
            "no Tcl stub library found (tried {candidates:?}) from {}",
            self.file.display()
        ));
    }
}

/// Parse `NAME='value'` / `NAME="value"` / `NAME=value` lines, expanding `${VAR}`/`$VAR`
/// references to variables defined earlier in the file.
fn parse_vars(text: &str) -> HashMap<String, String> {
    let mut vars = HashMap::new();
    for line in text.lines() {
        let line = line.trim();
        if line.starts_with('#') {
            continue;
        }
        let Some((name, value)) = line.split_once('=') else {
            continue;
        };
        if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            continue;
        }
        let value = value.trim();
        let value = [('\'', '\''), ('"', '"')]
            .iter()
            .find_map(|&(a, b)| value.strip_prefix(a).and_then(|v| v.strip_suffix(b)))
            .unwrap_or(value);
        // Single quotes don't expand in sh, but configure-generated tclConfig.sh files
        // put `${TCL_DBGX}`-style references inside them, meant for the reader: expand.
        let v = expand_vars(value, &vars);
        vars.insert(name.to_string(), v);
    }
    vars
}

fn expand_vars(s: &str, vars: &HashMap<String, String>) -> String {
    let mut out = String::new();
    let mut rest = s;
    while let Some(i) = rest.find('$') {
        out.push_str(&rest[..i]);
        let after = &rest[i + 1..];
        let (name, tail) = if let Some(b) = after.strip_prefix('{') {
            match b.find('}') {
                Some(j) => (&b[..j], &b[j + 1..]),
                None => ("", after),
            }
        } else {
            let j = after
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .unwrap_or(after.len());
            (&after[..j], &after[j..])
        };
        if name.is_empty() {
            out.push('$');
            rest = after;
        } else {
            out.push_str(vars.get(name).map(String::as_str).unwrap_or(""));
            rest = tail;
        }
    }
    out.push_str(rest);
    out
}

/// Resolve the argument of a `. path` line. Backquoted commands (Debian's
/// `dpkg-architecture -qDEB_HOST_MULTIARCH`) are expanded by `sh`; if that fails,
/// any `*/` directory in their place is tried.
fn resolve_sourced(arg: &str, from: &Path) -> Option<PathBuf> {
    let arg = arg.trim_matches(|c| c == '"' || c == '\'');
    if arg.contains('`') || arg.contains("$(") {
        if let Ok(out) = Command::new("sh")
            .arg("-c")
            .arg(format!("echo {arg}"))
            .output()
        {
            let p = String::from_utf8_lossy(&out.stdout).trim().to_string();
            if out.status.success() && !p.is_empty() && !p.contains('`') {
                if let Some(r) = rebase(Path::new(&p), from) {
                    return Some(r);
                }
            }
        }
        // Fallback: replace the command substitution by each sibling dir.
        let start = arg.find('`')?;
        let end = start + 1 + arg[start + 1..].find('`')?;
        let (head, tail) = (&arg[..start], &arg[end + 1..]);
        let head_dir = rebase(Path::new(head), from)?;
        for entry in fs::read_dir(head_dir).ok()?.flatten() {
            let cand = entry.path().join(tail.trim_start_matches('/'));
            if cand.is_file() {
                return Some(cand);
            }
        }
        return None;
    }
    rebase(Path::new(arg), from)
}

/// Return `p` if it exists; otherwise try it below each ancestor of the config file's
/// directory (nearest first), for Tcls unpacked under a prefix whose tclConfig.sh still
/// names `/usr/...`.
fn rebase(p: &Path, config_file: &Path) -> Option<PathBuf> {
    if p.exists() {
        return Some(p.to_path_buf());
    }
    let rel = p.strip_prefix("/").ok()?;
    let dir = config_file.parent()?;
    let dir = fs::canonicalize(dir).unwrap_or_else(|_| dir.to_path_buf());
    dir.ancestors().map(|a| a.join(rel)).find(|c| c.exists())
}
