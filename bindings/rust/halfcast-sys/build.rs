//! Finds libhalfcast_c: in the folder HALFCAST_LIB_DIR names if set, else where
//! `pkg-config halfcast` (halfcast.pc, installed with the library) says. pkg-config is run as a
//! command so that the crate has no build dependency.
use std::env;
use std::process::Command;

fn pkg_config(args: &[&str]) -> Result<String, String> {
    let output = Command::new("pkg-config")
        .args(args)
        .arg("halfcast")
        .output()
        .map_err(|e| format!("cannot run pkg-config ({e})"))?;
    if !output.status.success() {
        return Err(String::from_utf8_lossy(&output.stderr).trim().to_string());
    }
    Ok(String::from_utf8_lossy(&output.stdout).trim().to_string())
}

fn main() {
    println!("cargo:rerun-if-env-changed=HALFCAST_LIB_DIR");
    println!("cargo:rerun-if-env-changed=PKG_CONFIG_PATH");
    let libdir = match env::var("HALFCAST_LIB_DIR") {
        Ok(dir) if !dir.is_empty() => dir,
        _ => match pkg_config(&["--variable=libdir"]) {
            Ok(dir) => dir,
            Err(why) => panic!(
                "halfcast-sys: libhalfcast_c not found: set HALFCAST_LIB_DIR to the folder holding \
                 libhalfcast_c.so, or PKG_CONFIG_PATH to the folder holding halfcast.pc ({why})"
            ),
        },
    };
    println!("cargo:rustc-link-search=native={libdir}");
    println!("cargo:rustc-link-lib=dylib=halfcast_c");
    // Dependents' build scripts read it as DEP_HALFCAST_C_LIBDIR (e.g. to set an rpath).
    println!("cargo:libdir={libdir}");
}
