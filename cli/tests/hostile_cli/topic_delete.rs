//! `silt topic delete`: an unknown topic is refused (exit 1, naming it); a deleted topic is
//! unknown to every command at once, its name is refused by `topic create` until `gc run`
//! has removed its data, and created again it holds none of the old records.

use super::Cli;

on_every_backend!(
    topic_delete_of_an_unknown_topic_is_refused,
    topic_delete_then_gc_frees_the_name
);

fn topic_delete_of_an_unknown_topic_is_refused(cli: &Cli) {
    cli.topic_with("t", &["a"]);
    cli.fails(
        &["topic", "delete", "nope"],
        "",
        1,
        "topic nope does not exist",
    );
    cli.fails(&["topic", "delete", "no/pe"], "", 1, "no/pe");
    // Nothing else changed.
    assert_eq!(cli.consumed("t"), "a\n");
}

fn topic_delete_then_gc_frees_the_name(cli: &Cli) {
    cli.topic_with("t", &["a", "b"]);
    cli.topic_with("u", &["c"]);
    let out = cli.ok(&["topic", "delete", "t"], "");
    assert!(out.starts_with("deleted topic t (id "), "{out}");
    assert!(out.contains("silt gc run"), "{out}");
    assert_eq!(cli.ok(&["topic", "list"], ""), "u\n");
    let unknown = "topic t does not exist";
    for args in [
        &["topic", "describe", "t"][..],
        &["consume", "t"],
        &["topic", "delete", "t"],
        &["topic", "alter", "t", "--retention-ms", "1000"],
    ] {
        cli.fails(args, "", 1, unknown);
    }
    cli.fails(&["produce", "t"], "x\n", 1, unknown);
    cli.fails(&["topic", "create", "t"], "", 1, "topic t is being deleted");
    let gc = cli.ok(&["gc", "run", "--grace-ms", "0"], "");
    assert!(gc.contains("1 purged"), "{gc}");
    cli.ok(&["topic", "create", "t"], "");
    assert_eq!(cli.consumed("t"), "");
    assert_eq!(cli.ok(&["topic", "list"], ""), "t\nu\n");
    assert_eq!(cli.consumed("u"), "c\n");
}
