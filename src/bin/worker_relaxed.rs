fn main() {
    skycase_web::worker::start();
}
