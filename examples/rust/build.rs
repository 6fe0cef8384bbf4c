// Links libhalfcast_c: from HALFCAST_PREFIX if set, else through `pkg-config halfcast` (run as a
// command, so the crate needs no build dependency).
use std::env;
use std::process::Command;

fn main() {
    println!("cargo:rerun-if-env-changed=HALFCAST_PREFIX");
    println!("cargo:rerun-if-env-changed=PKG_CONFIG_PATH");
    let libdir = match env::var("HALFCAST_PREFIX") {
        Ok(prefix) => format!("{prefix}/lib"),
        Err(_) => {
            let output = Command::new("pkg-config")
                .args(["--variable=libdir", "halfcast"])
                .output()
                .expect("pkg-config not found; set HALFCAST_PREFIX");
            assert!(output.status.success(), "pkg-config cannot find halfcast");
            String::from_utf8(output.stdout).unwrap().trim().to_string()
        }
    };
    println!("cargo:rustc-link-search=native={libdir}");
    println!("cargo:rustc-link-lib=dylib=halfcast_c");
    // Let the example run from the build tree without LD_LIBRARY_PATH.
    println!("cargo:rustc-link-arg=-Wl,-rpath,{libdir}");
}
