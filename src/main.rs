fn main() {
    for (name, crd) in ecs_operator::crdgen::all() {
        println!(
            "# {name}\n---\n{}",
            ecs_operator::crdgen::to_yaml(&crd).unwrap()
        );
    }
}
