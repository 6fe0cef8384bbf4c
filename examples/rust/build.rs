// Links libhalfcast_c: from the folder HALFCAST_LIBDIR if set, else where `pkg-config halfcast`
// says (run as a command, so the crate needs no build dependency).
use std::env;
use std::process::Command;

fn main() {
    println!("cargo:rerun-if-env-changed=HALFCAST_LIBDIR");
    println!("cargo:rerun-if-env-changed=PKG_CONFIG_PATH");
    let libdir = match env::var("HALFCAST_LIBDIR") {
        Ok(libdir) => libdir,
        Err(_) => {
            let output = Command::new("pkg-config")
                .args(["--variable=libdir", "halfcast"])
                .output()
                .expect("pkg-config not found; set HALFCAST_LIBDIR");
            assert!(output.status.success(), "pkg-config cannot find halfcast");
            String::from_utf8(output.stdout).unwrap().trim().to_string()
        }
    };
    println!("cargo:rustc-link-search=native={libdir}");
    println!("cargo:rustc-link-lib=dylib=halfcast_c");
    // Let the example run from the build tree without LD_LIBRARY_PATH.
    println!("cargo:rustc-link-arg=-Wl,-rpath,{libdir}");
}
