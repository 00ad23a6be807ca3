fn main() {
    console_error_panic_hook::set_once();
    leptos::mount::mount_to_body(skycase_web::app::App);
    // The app runs: index.html's "starting" line (and what it would say if the start failed)
    // gives way to it.
    if let Some(boot) = web_sys::window().and_then(|w| w.document()).and_then(|d| d.get_element_by_id("boot")) {
        boot.remove();
    }
}
