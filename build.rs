// Passes tcl-sys's Tcl major version on as the `tcl9` cfg.
fn main() {
    println!("cargo:rustc-check-cfg=cfg(tcl9)");
    if std::env::var("DEP_TCL_MAJOR").as_deref() == Ok("9") {
        println!("cargo:rustc-cfg=tcl9");
    }
}
